"""The payload codec: round trip, key rotation, tampering, key configuration."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure

from dichvucong.security.codec import (
    ENCODING,
    KEY_ID,
    CodecKeyError,
    EncryptionCodec,
    PayloadTampered,
    data_converter,
    keys_from_settings,
    new_key_spec,
    parse_keys,
)
from dichvucong.settings import Settings

CCCD = "075203001234"


@dataclass
class Applicant:
    name: str
    id_number: str


def _codec(spec: str) -> EncryptionCodec:
    return EncryptionCodec(parse_keys(spec))


async def test_round_trip_hides_the_plain_text() -> None:
    codec = _codec(new_key_spec("k1"))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=f'"{CCCD}"'.encode())
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert CCCD.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain]
    # A fresh nonce each time: the same value never gives the same ciphertext.
    [again] = await codec.encode([plain])
    assert again.data != sealed.data


async def test_rotation_new_key_encrypts_old_keys_still_decrypt() -> None:
    k1, k2 = new_key_spec("k1"), new_key_spec("k2")
    before = _codec(k1)
    after = _codec(f"{k2},{k1}")
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"Nguy\xe1\xbb\x85n V\xc4\x83n An"')
    [old] = await before.encode([plain])
    [new] = await after.encode([plain])
    assert new.metadata[KEY_ID] == b"k2"
    assert await after.decode([old, new]) == [plain, plain]
    with pytest.raises(CodecKeyError):
        await before.decode([new])  # k2 is unknown to the old configuration


async def test_tampered_or_relabelled_ciphertext_is_refused() -> None:
    k1, k2 = new_key_spec("k1"), new_key_spec("k2")
    codec = _codec(f"{k1},{k2}")
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadTampered):
        await codec.decode([flipped])
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[KEY_ID] = b"k2"  # the key id is authenticated data
    with pytest.raises(PayloadTampered):
        await codec.decode([relabelled])
    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:8])
    with pytest.raises(PayloadTampered):
        await codec.decode([truncated])


async def test_unencrypted_payloads_pass_through_decode() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"{}")
    assert await _codec(new_key_spec("k1")).decode([plain]) == [plain]


def test_key_configuration() -> None:
    with pytest.raises(CodecKeyError):
        parse_keys("k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(CodecKeyError):
        parse_keys("no-colon")
    with pytest.raises(CodecKeyError):
        parse_keys("k1:!!!notbase64")
    spec = new_key_spec("k1")
    with pytest.raises(CodecKeyError):
        parse_keys(f"{spec},{spec}")
    # Development: derived from the secret key, the same in the API and the worker.
    dev = Settings(environment="development", secret_key="s-1")
    assert keys_from_settings(dev) == keys_from_settings(Settings(secret_key="s-1"))
    assert keys_from_settings(dev) != keys_from_settings(Settings(secret_key="s-2"))
    # Production refuses to run without configured keys.
    prod = Settings(
        environment="production",
        secret_key="a-real-secret-0123456789",
        payment_secret="p",
        postal_secret="q",
        payment_gateway_url="https://gateway.example",
        postal_api_url="https://postal.example",
    )
    with pytest.raises(CodecKeyError):
        keys_from_settings(prod)
    configured = prod.model_copy(update={"codec_keys": spec})
    assert keys_from_settings(configured)[0][0] == "k1"


async def test_data_converter_encrypts_values_and_failures() -> None:
    converter = data_converter(Settings(secret_key="s-1"))
    [payload] = await converter.encode([Applicant("Nguyễn Văn An", CCCD)])
    assert payload.metadata["encoding"] == ENCODING
    assert CCCD.encode() not in payload.SerializeToString()
    [back] = await converter.decode([payload], [Applicant])
    assert back == Applicant("Nguyễn Văn An", CCCD)
    failure = Failure()
    await converter.encode_failure(RuntimeError(f"không tìm thấy {CCCD}"), failure)
    assert CCCD.encode() not in failure.SerializeToString()  # message and stack encrypted
