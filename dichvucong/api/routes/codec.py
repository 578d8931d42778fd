"""The codec server routes (``/codec/...``, outside ``/api/v1``): see
``dichvucong.security.codec_server``."""

from __future__ import annotations

from dichvucong.security.codec_server import build_router

__all__ = ["build_router"]
