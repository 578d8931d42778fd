"""Nothing that blocks runs on the API's event loop: every statement of the read model
and every password hash (argon2id, ~0.1 s of CPU) runs in the thread pool, for the
JSON API and for the citizens' and officials' pages. A call on the loop holds every
other request of the process: a sign-in would hold them all for the hash's duration,
a write waiting on the worker's lock for as long as the lock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import argon2
import pytest
from sqlalchemy import create_engine, event

from tests.api.portal import PASSWORD, PDF_BYTES, STP, Portal, portal
from tests.pages.test_citizen_pages import REGISTRATION, page, page_form, post, submit_page
from tests.pages.test_official_pages import Desk


@contextmanager
def loop_watch(p: Portal, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What ran on this (the event loop's) thread: statements of the app's database,
    password hashes and checks."""
    loop_thread = threading.get_ident()
    seen: list[str] = []

    def on_statement(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if threading.get_ident() == loop_thread:
            seen.append(statement.split()[0] + " " + statement[:80])

    for name in ("hash", "verify"):
        real = getattr(argon2.PasswordHasher, name)

        def watched(self, *args, _real=real, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            if threading.get_ident() == loop_thread:
                seen.append(f"argon2 {_name}")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(argon2.PasswordHasher, name, watched)
    engine = p.app.state.db.engine
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)


async def test_pages_and_api_keep_the_event_loop_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with portal(tmp_path) as p:
        p.official("tiepnhan.test", STP, "reception")  # its password hashed before the watch
        reception = Desk(p, "tiepnhan.test")
        with loop_watch(p, monkeypatch) as on_loop:
            # The citizen registers and signs in on the pages, submits through the page form.
            registered = await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
            assert registered.status_code == 303, registered.text
            await post(p.http, "/tai-khoan", "/dang-xuat", {})
            login = await post(p.http, "/dang-nhap", "/dang-nhap",
                               {"username": REGISTRATION["id_number"], "password": PASSWORD})  # fmt: skip
            assert login.status_code == 303, login.text
            profile = await post(p.http, "/tai-khoan", "/tai-khoan",
                                 {"full_name": "Nguyễn Văn An", "phone": "0912345678",
                                  "email": "an@example.vn", "address": "Biên Hòa"})  # fmt: skip
            assert profile.status_code == 303, profile.text
            submitted = await submit_page(p, page_form(), files={
                "tep.giay_to_tuy_than": ("cccd.pdf", PDF_BYTES, "application/pdf")})  # fmt: skip
            assert submitted.status_code == 303, submitted.text
            code = submitted.headers["location"].split("/")[2].split("?")[0]
            await p.settled(code)
            assert (await page(p.http, f"/ho-so/{code}")).status_code == 200

            # The JSON API: a citizen's token, a second dossier, its detail.
            citizen = await p.login(REGISTRATION["id_number"])
            answer = await p.submit(citizen, key="loop-1")
            assert answer.status_code == 201, answer.text
            other = answer.json()["dossier_code"]
            assert (await p.http.get(f"/api/v1/dossiers/{other}", headers=citizen)).status_code == 200

            # The official signs in on the page and accepts on the case page; the API too.
            assert (await reception.login()).status_code == 303
            accepted = await reception.act(code, "accept")
            assert accepted.status_code == 303, accepted.text
            official = await p.login("tiepnhan.test")
            await p.settled(other)
            taken = await p.http.post(f"/api/v1/dossiers/{other}/actions/accept", json={},
                                      headers=official)  # fmt: skip
            assert taken.status_code == 200, taken.text

            # A fee is due after reception: the citizen starts paying on the page (no
            # gateway listens for this in-process portal: the page says it is unavailable,
            # after the checks and the dossier's read).
            await p.settled(code, seq=1)
            paying = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/thanh-toan", {})
            assert paying.status_code == 503 and "Cổng thanh toán" in paying.text, paying.text
            await post(p.http, "/tai-khoan", "/tai-khoan/mat-khau",
                       {"current_password": PASSWORD, "new_password": PASSWORD + "-2",
                        "new_password_again": PASSWORD + "-2"})  # fmt: skip
        assert on_loop == []


async def test_threads_and_pooled_connections_never_wait_on_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain ``def`` route given a session (``SessionDep``) closes it in its own trip
    to the thread pool. Before, it held its connection into a second trip (the check of
    its answer): with one connection and two threads, concurrent requests stood still
    until the pool's timeout and answered 500."""
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        app_db = p.app.state.db
        small = create_engine(app_db.url, pool_size=1, max_overflow=0, pool_timeout=3)
        monkeypatch.setattr(app_db, "engine", small)
        limiter = anyio.to_thread.current_default_thread_limiter()
        tokens, limiter.total_tokens = limiter.total_tokens, 2
        try:
            answers = await asyncio.gather(*(
                p.http.get("/api/v1/me/dossiers", headers=citizen) for _ in range(12)))  # fmt: skip
        finally:
            limiter.total_tokens = tokens
            small.dispose()
        assert [a.status_code for a in answers] == [200] * 12, [a.text[:200] for a in answers]
