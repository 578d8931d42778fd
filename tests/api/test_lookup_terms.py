"""What the public lookup looks for: the code as typed (in any case), or the term
inside the slip's QR URL whatever the scanning app appends."""

from __future__ import annotations

from pathlib import Path

import pytest

from dichvucong.dossiers.views import lookup_term

from .portal import portal

CODE = "000.00.12.H19-270105-0007"


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        (f"  {CODE} ", CODE),
        (f"https://dichvucong.dongnai.gov.vn/tra-cuu?q={CODE}", CODE),
        (f"https://dichvucong.dongnai.gov.vn/tra-cuu?q={CODE}&utm_source=zalo", CODE),
        (f"https://dichvucong.dongnai.gov.vn/tra-cuu?utm_source=zalo&q={CODE}", CODE),
        (f"https://dichvucong.dongnai.gov.vn/tra-cuu/{CODE}/", CODE),
        ("https://dichvucong.dongnai.gov.vn/tra-cuu?utm_source=zalo", ""),
    ],
)
def test_the_lookup_term(typed: str, term: str) -> None:
    assert lookup_term(typed) == term


async def test_a_code_typed_in_lowercase_or_scanned_with_extras_is_found(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)
        for query in (code, code.lower(), f"http://portal.test/tra-cuu?q={code}&utm_source=zalo"):
            found = (await p.http.get("/api/v1/lookup", params={"q": query})).json()["results"]
            assert [r["dossier_code"] for r in found] == [code], query
