"""The JSON API with the session cookie: a change is made only from one of our own
pages (same origin, or the page's CSRF token in ``X-CSRF-Token``); a form posted from
another site or a sibling subdomain gets a 403 problem. Bearer tokens are unaffected."""

from __future__ import annotations

from pathlib import Path

from dichvucong.api.deps import CSRF_HEADER
from dichvucong.db.models import Dossier
from tests.api.portal import STP, portal
from tests.pages.test_official_pages import desk, submitted, token

FORGED = {"Content-Type": "text/plain", "Accept": "application/json"}


async def test_cookie_changes_need_our_origin_or_the_csrf_token(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        first, second, third = [await submitted(p, citizen) for _ in range(3)]
        reception = await desk(p, "tiepnhan", STP, "reception")

        def accept(code: str) -> str:
            return f"/api/v1/dossiers/{code}/actions/accept"

        # What a form on another page makes the browser send: the cookie, a text/plain
        # body the route reads as JSON anyway, and no token.
        for headers in (
            {"Origin": "https://other.example"},
            {"Origin": "http://tienich.portal.test", "Sec-Fetch-Site": "same-site"},
            {"Origin": "null"},
            {},  # no Origin, no Sec-Fetch-Site: no proof either
            {CSRF_HEADER: "not-the-token"},
        ):
            forged = await reception.http.post(
                accept(first), content=b"{}", headers={**FORGED, **headers}
            )
            assert forged.status_code == 403, (headers, forged.text)
            assert forged.headers["content-type"].startswith("application/problem+json")
            assert forged.json()["code"] == "csrf"
        with p.db.session() as session:
            assert session.get(Dossier, first).status == "SUBMITTED"  # type: ignore[union-attr]

        same_origin = await reception.http.post(
            accept(first), json={}, headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert same_origin.status_code == 200, same_origin.text
        by_origin = await reception.http.post(
            accept(second), json={}, headers={"Origin": "http://portal.test"}
        )
        assert by_origin.status_code == 200, by_origin.text
        page = await reception.http.get("/can-bo")
        with_token = await reception.http.post(
            accept(third), json={}, headers={CSRF_HEADER: token(page.text)}
        )
        assert with_token.status_code == 200, with_token.text

        # Reading with the cookie, and anything with a bearer token, as before.
        assert (await reception.http.get(f"/api/v1/dossiers/{first}")).status_code == 200
        officer = await p.login("tiepnhan")
        refused = await p.http.post(
            f"/api/v1/dossiers/{first}/actions/refuse",
            json={"reason": "x"},
            headers={**officer, "Origin": "https://other.example"},
        )
        # The workflow's own answer (already accepted), not the cookie guard's 403.
        assert refused.status_code == 409, refused.text
