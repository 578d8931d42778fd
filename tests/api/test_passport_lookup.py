"""A citizen's passport number: kept on the account, copied into each new dossier, and
the public lookup finds the dossiers by it (through a real submission)."""

from __future__ import annotations

from pathlib import Path

from tests.pages.test_citizen_pages import REGISTRATION, page, post

from .portal import PASSWORD, portal

ACCOUNT = {
    "full_name": "Lê Thị Cúc",
    "id_number": "075303001111",
    "date_of_birth": "2003-02-01",
    "phone": "0911111111",
    "address": "5 Hà Huy Giáp, Biên Hòa",
    "password": PASSWORD,
}


async def test_a_dossier_is_found_by_the_applicants_passport(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        created = await p.http.post("/api/v1/accounts", json={**ACCOUNT, "passport_number": " c1234567 "})
        assert created.status_code == 201, created.text
        assert created.json()["passport_number"] == "C1234567"  # as printed in the passport

        citizen = await p.login(ACCOUNT["id_number"])
        response = await p.submit(citizen)
        assert response.status_code == 201, response.text
        code = response.json()["dossier_code"]
        await p.settled(code)

        for query in ("C1234567", "c1234567"):
            found = (await p.http.get("/api/v1/lookup", params={"q": query})).json()["results"]
            assert [r["dossier_code"] for r in found] == [code]
            assert "C1234567" not in str(found)  # the answer does not repeat the identifier
        nobody = (await p.http.get("/api/v1/lookup", params={"q": "C7654321"})).json()
        assert nobody["results"] == []


async def test_passport_numbers_are_checked_and_belong_to_one_account(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        bad = await p.http.post("/api/v1/accounts", json={**ACCOUNT, "passport_number": "12345"})
        assert bad.status_code == 422
        assert bad.json()["errors"] == {
            "passport_number": "Số hộ chiếu gồm 1 chữ cái và 7 chữ số, ví dụ C1234567."
        }
        first = await p.http.post("/api/v1/accounts", json={**ACCOUNT, "passport_number": "B7654321"})
        assert first.status_code == 201, first.text
        other = {**ACCOUNT, "id_number": "075203001234", "phone": "0922222222",
                 "date_of_birth": "2003-05-17", "passport_number": "b7654321"}  # fmt: skip
        taken = await p.http.post("/api/v1/accounts", json=other)
        assert taken.status_code == 422
        assert set(taken.json()["errors"]) == {"passport_number"}

        citizen = await p.login(ACCOUNT["id_number"])
        profile = {k: ACCOUNT[k] for k in ("full_name", "phone", "address")}
        kept = await p.http.put("/api/v1/me/profile", json=profile, headers=citizen)
        assert kept.json()["passport_number"] == "B7654321"  # not sent: left as it is
        changed = await p.http.put(
            "/api/v1/me/profile", json={**profile, "passport_number": "N0000001"}, headers=citizen
        )
        assert changed.json()["passport_number"] == "N0000001"
        removed = await p.http.put(
            "/api/v1/me/profile", json={**profile, "passport_number": ""}, headers=citizen
        )
        assert removed.status_code == 200 and removed.json()["passport_number"] is None


async def test_the_pages_take_the_passport_number(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        form = await page(p.http, "/dang-ky")
        assert '<label for="fld-passport-number">Số hộ chiếu (nếu có)</label>' in form.text
        refused = await post(p.http, "/dang-ky", "/dang-ky",
                             {**REGISTRATION, "passport_number": "C12"})  # fmt: skip
        assert refused.status_code == 422
        assert "Số hộ chiếu gồm 1 chữ cái và 7 chữ số" in refused.text
        assert 'href="#fld-passport-number"' in refused.text  # the summary links to it
        done = await post(p.http, "/dang-ky", "/dang-ky",
                          {**REGISTRATION, "passport_number": "c7777777"})  # fmt: skip
        assert done.status_code == 303, done.text[:300]
        account = await page(p.http, "/tai-khoan")
        assert 'name="passport_number" type="text" value="C7777777"' in account.text
        saved = await post(p.http, "/tai-khoan", "/tai-khoan", {
            "full_name": REGISTRATION["full_name"], "phone": REGISTRATION["phone"],
            "address": REGISTRATION["address"], "email": "", "passport_number": ""})  # fmt: skip
        assert saved.status_code == 303
        assert 'name="passport_number" type="text" value=""' in (await page(p.http, "/tai-khoan")).text
