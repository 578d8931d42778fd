"""Encryption of everything Temporal stores: a payload codec (AES-256-GCM).

Each payload is serialised whole (metadata and data) and encrypted with the
current key; the result carries ``encoding: binary/encrypted`` and the key id in
``encryption-key-id``. Keys come from ``settings.codec_keys``
(``"k2:<base64>,k1:<base64>"``): the first encrypts, every listed key decrypts,
so a key is rotated by putting a new one first and keeping the old ones until
the histories they encrypted are past retention. The key id is bound to the
ciphertext as associated data, so a payload cannot be moved to another key id.

Payloads without the encrypted encoding (histories written before the codec)
pass through ``decode`` unchanged.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
from collections.abc import Sequence

import temporalio.converter
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from dichvucong.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
DEV_KEY_ID = "dev"


class CodecKeyError(ValueError):
    """Missing, malformed or unknown keys."""


class PayloadTampered(ValueError):
    """The ciphertext does not authenticate (altered, truncated or a wrong key)."""


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``"k2:<base64 32 bytes>,k1:<base64>"`` -> ``[("k2", key), ("k1", key)]``."""
    keys: list[tuple[str, bytes]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise CodecKeyError("each codec key is 'id:<base64 of 32 bytes>'")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CodecKeyError(f"codec key {key_id!r} is not valid base64") from exc
        if len(key) != 32:
            raise CodecKeyError(f"codec key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
        if any(existing == key_id for existing, _ in keys):
            raise CodecKeyError(f"codec key id {key_id!r} is listed twice")
        keys.append((key_id, key))
    return keys


def keys_from_settings(settings: Settings) -> list[tuple[str, bytes]]:
    """The configured keys; outside production a key derived from ``secret_key`` when
    none are configured (development and tests work without configuration)."""
    keys = parse_keys(settings.codec_keys)
    if keys:
        return keys
    if settings.environment == "production":
        raise CodecKeyError("DVC_CODEC_KEYS must be set in production (payload encryption)")
    derived = hashlib.sha256(b"dichvucong-payload-codec|" + settings.secret_key.encode()).digest()
    return [(DEV_KEY_ID, derived)]


def new_key_spec(key_id: str) -> str:
    """A fresh ``id:<base64>`` entry for ``DVC_CODEC_KEYS``."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise CodecKeyError("the payload codec needs at least one key")
        self.encrypt_key_id = keys[0][0]
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.encrypt_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec existed
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(f"unknown payload encryption key id {key_id!r}")
        data = payload.data
        if len(data) <= NONCE_BYTES:
            raise PayloadTampered("encrypted payload too short")
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag as exc:
            raise PayloadTampered("encrypted payload does not authenticate") from exc
        return Payload.FromString(plain)


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(keys_from_settings(settings))


def data_converter(settings: Settings) -> DataConverter:
    """The converter of every client (API and worker): the default JSON conversion,
    then encryption. Failure messages and stack traces are encoded too (they could
    quote a citizen's data)."""
    return dataclasses.replace(
        temporalio.converter.default(),
        payload_codec=codec_from_settings(settings),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
