"""Request bodies are bounded as they arrive: chunked uploads (no Content-Length)
included, a small limit where no documents are taken, and no file parts on forms
that take none."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

from tests.api.portal import LLTP_FORM, STP, portal

MB = 1024 * 1024
BOUNDARY = "AuDiTbOuNdArY"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
HTML = {"Accept": "text/html"}


def chunked_body(
    megabytes: int, sent: list[int], fields: dict[str, str], *, file: bool = True
) -> AsyncIterator[bytes]:
    """A multipart body ending in one big part (a PDF, or a text field), streamed:
    httpx sends no Content-Length. ``sent`` counts the bytes the server pulled."""
    big_part = (
        'name="giay_to_tuy_than"; filename="big.pdf"\r\nContent-Type: application/pdf'
        if file
        else 'name="ghi_chu"'
    )

    async def chunks() -> AsyncIterator[bytes]:
        head = b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        )
        head += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {big_part}\r\n\r\n".encode()
        sent[0] += len(head)
        yield head
        for _ in range(megabytes):
            sent[0] += MB
            yield b"0" * MB
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        sent[0] += len(tail)
        yield tail

    return chunks()


async def test_a_chunked_upload_over_the_limit_is_refused_while_it_arrives(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path, max_dossier_bytes=MB, max_file_bytes=MB) as p:
        await p.register()
        citizen = await p.login("075203001234")
        fields = {
            "procedure_code": "ly-lich-tu-phap",
            "agency_code": STP,
            "delivery": "online",
            "form": json.dumps(LLTP_FORM),
        }
        sent = [0]
        response = await p.http.post(
            "/api/v1/dossiers",
            headers={**citizen, **MULTIPART},
            content=chunked_body(20, sent, fields),
        )
        assert response.status_code == 413, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "too_large"
        assert "vượt quá dung lượng" in response.json()["detail"]
        # Refused at the limit (1 MB + 1 MB for the fields), not after 20 MB.
        assert sent[0] < 4 * MB


async def test_a_form_without_documents_has_a_small_limit_and_takes_no_files(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        sent = [0]
        # (The sign-in form's own guard, the rate limits, buffers 64 KB: another page.)
        big = await p.http.post(
            "/dang-xuat",
            headers={**HTML, **MULTIPART},
            content=chunked_body(100, sent, {"username": "x"}, file=False),
        )
        assert big.status_code == 413
        assert big.headers["content-type"].startswith("text/html")
        assert "vượt quá dung lượng cho phép" in big.text
        assert sent[0] < 2 * MB

        declared = await p.http.post(
            "/tai-khoan", headers=HTML, data={"full_name": "x" * (300 * 1024)}
        )
        assert declared.status_code == 413 and "vượt quá dung lượng" in declared.text

        # A file part where none is taken: refused at its headers, not spooled first.
        sent = [0]
        spooled = await p.http.post(
            "/dang-xuat", headers={**HTML, **MULTIPART}, content=chunked_body(100, sent, {})
        )
        assert spooled.status_code == 400 and sent[0] < 2 * MB
        # A small one on the sign-in form too.
        with_file = await p.http.post(
            "/dang-nhap",
            headers=HTML,
            data={"username": "x", "password": "y"},
            files=[("tep", ("a.pdf", b"%PDF-1.4\n", "application/pdf"))],
        )
        assert with_file.status_code == 400
        assert "text/html" in with_file.headers["content-type"]

        # The JSON API's small bodies too.
        api = await p.http.post(
            "/api/v1/feedback",
            content=b"{" + b" " * (300 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )
        assert api.status_code == 413 and api.json()["code"] == "too_large"
