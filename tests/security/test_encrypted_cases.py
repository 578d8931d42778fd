"""A real case on the time-skipping server with the codec: the raw history holds no
personal data; the codec server shows it to supervisors only; officials' reads and
decisions are audited; nobody reads another's dossier by guessing codes or digests."""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from sqlmodel import select

from dichvucong.security.codec import data_converter
from dichvucong.security.models import AuditEvent
from dichvucong.workflows.messages import DossierInput
from tests.api.portal import COMMUNE, PDF_BYTES, STP

from .encrypted_portal import UI_ORIGIN, encrypted_portal

NAME = "Nguyễn Văn An"
CCCD = "075203001234"
PHONE = "0912345678"
ADDRESS = "12 Võ Thị Sáu, Biên Hòa"
PERSONAL = [NAME, CCCD, PHONE, ADDRESS, "Võ Thị Sáu", "Nguyễn"]


def _texts(value: Any) -> list[str]:
    """Every string in a JSON document, plus what its base64 strings decode to."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += _texts(item)
    elif isinstance(value, list):
        for item in value:
            found += _texts(item)
    elif isinstance(value, str):
        found.append(value)
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return found
        found.append(decoded)
        # JSON payloads escape non-ASCII letters ("V\u00f5 Th\u1ecb S\u00e1u").
        with contextlib.suppress(ValueError):
            found.append(json.dumps(json.loads(decoded), ensure_ascii=False))
    return found


def leaks(document: Any) -> set[str]:
    texts = "\n".join(_texts(document))
    return {item for item in PERSONAL if item in texts}


async def test_encrypted_case_end_to_end(tmp_path: Path) -> None:
    async with encrypted_portal(tmp_path) as p:
        await p.register(full_name=NAME, id_number=CCCD, phone=PHONE)
        citizen = await p.login(CCCD)
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        specialist = await p.login(p.official("chuyenvien", STP, "specialist"))
        supervisor = await p.login(p.official("giamsat", STP, "supervisor"))
        stranger = await p.login(p.official("tiepnhan.xa", COMMUNE, "reception"))

        submitted = await p.submit(
            citizen,
            delivery="postal",
            address=ADDRESS,
            files=[("giay_to_tuy_than", (f"CCCD {NAME}.pdf", PDF_BYTES, "application/pdf"))],
        )
        assert submitted.status_code == 201, submitted.text
        code = submitted.json()["dossier_code"]
        await p.settled(code)
        accepted = await p.act(reception, code, "accept", {"note": "Hồ sơ đủ"})
        assert accepted.status_code == 200, accepted.text

        # -- the raw history, read without the codec: no personal data anywhere
        history = await p.env.client.get_workflow_handle(code).fetch_history()
        raw = json.loads(history.to_json())
        assert leaks(raw) == set(), leaks(raw)
        assert "SUBMITTED" in "\n".join(_texts(raw))  # the finder reads plain payloads
        started = history.events[0].workflow_execution_started_event_attributes
        sealed = list(started.input.payloads)
        assert sealed[0].metadata["encoding"] == b"binary/encrypted"

        # -- with the codec the input decodes, personal data and all
        [inp] = await data_converter(p.settings).decode(sealed, [DossierInput])
        assert inp.delivery_address == ADDRESS
        assert inp.documents[0].name == f"CCCD {NAME}.pdf"

        # -- the codec server: supervisors decode; others 403, anonymous 401
        body = {"payloads": [json_format.MessageToDict(x) for x in sealed]}
        url = "/codec/default/decode"
        decoded = await p.http.post(url, json=body, headers=supervisor)
        assert decoded.status_code == 200, decoded.text
        assert ADDRESS in leaks(decoded.json())
        token = supervisor["Authorization"].removeprefix("Bearer ")
        by_cookie = await p.http.post(
            "/codec/decode",
            json=body,
            headers={
                "Cookie": f"dvc_session={token}",
                "X-Namespace": "default",
                "Origin": UI_ORIGIN,
            },
        )
        assert by_cookie.status_code == 200
        assert by_cookie.headers["access-control-allow-origin"] == UI_ORIGIN
        assert by_cookie.headers["access-control-allow-credentials"] == "true"
        assert (await p.http.post(url, json=body, headers=specialist)).status_code == 403
        assert (await p.http.post(url, json=body, headers=citizen)).status_code == 403
        assert (await p.http.post(url, json=body)).status_code == 401
        assert (
            await p.http.post("/codec/other/decode", json=body, headers=supervisor)
        ).status_code == 404
        encoded = await p.http.post(
            "/codec/default/encode", json=decoded.json(), headers=supervisor
        )
        assert encoded.status_code == 200 and leaks(encoded.json()) == set()
        preflight = await p.http.options(
            url,
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "x-namespace" in preflight.headers["access-control-allow-headers"]
        evil = await p.http.options(
            url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers

        # -- officials' reads and decisions are audited; the citizen's own reads are not
        sha = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()["documents"][
            0
        ]["sha256"]
        assert (await p.http.get(f"/api/v1/dossiers/{code}", headers=specialist)).status_code == 200
        document = await p.http.get(f"/api/v1/dossiers/{code}/documents/{sha}", headers=specialist)
        assert document.status_code == 200 and document.content == PDF_BYTES
        with p.db.session() as session:
            rows = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        mine = [
            (r.action, r.detail.get("what") or r.detail.get("action"))
            for r in rows
            if r.dossier_code == code
        ]
        assert ("decision", "accept") in mine
        assert ("read_personal_data", "dossier_detail") in mine
        assert ("read_personal_data", "document") in mine
        assert all(not r.actor.startswith("citizen:") for r in rows if r.dossier_code == code)
        assert any(r.detail.get("what") == "temporal_ui_decode" for r in rows)
        assert {r.action for r in rows} >= {"login", "read_personal_data", "decision"}

        # -- the export, for an inspector: supervisors and admins only, itself audited
        export = await p.http.get(
            "/api/v1/audit", params={"from": "2000-01-01"}, headers=supervisor
        )
        assert export.status_code == 200, export.text
        assert export.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
        assert {"decision", "read_personal_data"} <= {row["action"] for row in table}
        for far in ({"to": "9999-12-31"}, {"from": "0001-01-01"}):
            refused = await p.http.get("/api/v1/audit", params=far, headers=supervisor)
            assert refused.status_code == 422 and refused.json()["code"] == "invalid_period"
        assert (await p.http.get("/api/v1/audit", headers=specialist)).status_code == 403
        assert (await p.http.get("/api/v1/audit", headers=citizen)).status_code == 403
        with p.db.session() as session:
            assert session.exec(select(AuditEvent).where(AuditEvent.action == "export")).first()

        # -- guessing codes or digests: 404, the same answer as for nothing at all
        await p.register(id_number="075203005678", phone="0987654321")
        other = await p.login("075203005678")
        missing = await p.http.get(f"/api/v1/dossiers/{code}-x", headers=other)
        for headers in (other, stranger):
            seen = await p.http.get(f"/api/v1/dossiers/{code}", headers=headers)
            assert seen.status_code == 404 and seen.json()["detail"] == missing.json()["detail"]
            doc = await p.http.get(f"/api/v1/dossiers/{code}/documents/{sha}", headers=headers)
            assert doc.status_code == 404
        assert (
            await p.http.get(f"/api/v1/dossiers/{code}/documents/{'0' * 64}", headers=citizen)
        ).status_code == 404
        assert (
            await p.http.get(f"/api/v1/dossiers/{code}/result", headers=other)
        ).status_code == 404
        assert (await p.act(stranger, code, "approve")).status_code == 404
