"""Free text that reaches a case's workflow: printable and bounded, refused with a
Vietnamese 422 before Temporal; and the read model's writers never blocked by a NUL
already in a workflow's history (PostgreSQL refuses it in text and jsonb)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from dichvucong.activities.contracts import DossierSnapshot, TransitionRecord
from dichvucong.activities.notify import Dispatcher, OutgoingMessage
from dichvucong.activities.records import RecordActivities
from dichvucong.api.problems import DomainError
from dichvucong.catalog.models import FormField, Procedure
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent, Notification
from dichvucong.dossiers.decisions import build_input
from dichvucong.dossiers.submission import MAX_NOTE
from dichvucong.forms.validation import validate_form
from dichvucong.workflows import texts
from dichvucong.workflows.messages import Actor, DocumentRef, IssueResultInput
from tests.pg.conftest import pg_cluster, pg_url  # noqa: F401 - fixtures

from .portal import LLTP_FORM, PDF_BYTES, STP, portal

OFFICIAL = Actor("canbo.stp", "reception")
BAD = texts.refusal("control_character")
AGENCY = "000.00.12.H19"
CODE = f"{AGENCY}-261122-0009"
AT = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def _refused(action: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DomainError) as refused:
        build_input(action, body, OFFICIAL)
    assert (refused.value.status, refused.value.code) == (422, "invalid_body")
    errors: list[dict[str, Any]] = refused.value.extra["errors"]
    return errors


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x1f", "\ud800"])
@pytest.mark.parametrize(
    ("action", "body", "loc"),
    [
        ("accept", {"note": "Đủ giấy tờ{}"}, ["note"]),
        ("approve", {"note": "{}"}, ["note"]),
        ("hand_over", {"note": "Đã trả{}"}, ["note"]),
        ("refuse", {"reason": "Thiếu giấy tờ{}"}, ["reason"]),
        ("request_supplement", {"items": ["CCCD", "Ảnh{}"]}, ["items", 1]),
        ("request_supplement", {"items": ["CCCD"], "note": "{}"}, ["note"]),
        ("send_back", {"to_step": "chuyen_vien", "reason": "Sai{}"}, ["reason"]),
        ("send_back", {"to_step": "chuyen{}", "reason": "Sai"}, ["to_step"]),
        ("reject", {"reasons": ["Không đủ điều kiện{}"]}, ["reasons", 0]),
        ("apologize", {"new_due": "2027-02-11T09:00:00+07:00", "reason": "Chậm{}"}, ["reason"]),
        ("record_counter_payment", {"receipt_no": "BL{}1", "amount": 1}, ["receipt_no"]),
        ("redispatch", {"address": " 12{} Lê Lợi "}, ["address"]),
        ("issue_result", {"note": "Kết quả{}"}, ["note"]),
    ],
)
def test_a_control_character_in_any_text_is_a_vietnamese_422(
    action: str, body: dict[str, Any], loc: list[Any], bad: str
) -> None:
    filled = json.loads(json.dumps(body).replace("{}", json.dumps(bad)[1:-1]))
    assert _refused(action, filled) == [{"loc": loc, "msg": BAD}]


def test_tabs_and_line_breaks_are_text() -> None:
    reason = "Thiếu:\r\n\t- bản sao CCCD\n\t- ảnh 4x6"
    assert build_input("refuse", {"reason": reason}, OFFICIAL).reason == reason
    assert build_input("issue_result", {"note": reason}, OFFICIAL).note == reason


def test_the_issue_note_is_bounded_as_every_other_note() -> None:
    errors = _refused("issue_result", {"note": "x" * (MAX_NOTE + 1)})
    assert errors == [{"loc": ["note"], "msg": texts.refusal("text_too_long", n="2.000")}]
    assert _refused("accept", {"note": "x" * (MAX_NOTE + 1)}) == errors
    doc = DocumentRef(sha256="a" * 64, size=10, media_type="application/pdf", slot="result")
    kept = build_input("issue_result", {"note": "x" * MAX_NOTE}, OFFICIAL, [doc])
    assert kept == IssueResultInput(documents=[doc], note="x" * MAX_NOTE, actor=OFFICIAL)


def test_a_submission_form_text_with_a_nul_is_refused_by_field() -> None:
    procedure = Procedure.model_construct(fee=None, form_fields=[
        FormField(key="ho_ten", label="Họ và tên", type="text"),
        FormField(key="ghi_chu", label="Ghi chú", type="textarea"),
        FormField(key="email", label="Thư điện tử", type="email")])  # fmt: skip
    cleaned, errors = validate_form(
        procedure, {"ho_ten": "An\x00", "ghi_chu": "dòng 1\n\tdòng 2\x1b", "email": "a\x00@b.vn"}
    )
    assert errors == {
        "ho_ten": "Họ và tên có ký tự không hợp lệ",
        "ghi_chu": "Ghi chú có ký tự không hợp lệ",
        "email": "Địa chỉ thư điện tử không hợp lệ",
    }
    cleaned, errors = validate_form(procedure, {"ho_ten": "An", "ghi_chu": "dòng 1\n\tdòng 2"})
    assert (cleaned, errors) == ({"ho_ten": "An", "ghi_chu": "dòng 1\n\tdòng 2"}, {})


# ------------------------------------------------------------- the read model's writers


def _record(seq: int, *, note: str | None) -> TransitionRecord:
    return TransitionRecord(
        dossier_code=CODE, seq=seq, at=AT.replace(hour=1 + seq), actor="official:1\x00",
        action="refuse", from_status="SUBMITTED", to_status="REFUSED", step=None,
        note=note, data={"reason\x00": "Thiếu\x00", "items": ["a\x00", 1, None]},
        snapshot=DossierSnapshot(procedure_code="ly-lich-tu-phap", agency_code=AGENCY,
                                 status="REFUSED", current_step=None, submitted_at=AT,
                                 tracking_number="EV\x001", state={"reason": "Thiếu\x00",
                                                                   "allowed_actions": {}}),
        documents=[DocumentRef(sha256="b" * 64, size=10, media_type="application/pdf",
                               slot="ket_qua", name="kq\x00.pdf")],
        document_kind="result",
    )  # fmt: skip


def _nul_anywhere(db: Database) -> list[str]:
    with db.session() as session:
        rows: list[Any] = [
            *session.exec(select(Dossier)).all(),
            *session.exec(select(DossierEvent)).all(),
            *session.exec(select(DossierDocument)).all(),
            *session.exec(select(Notification)).all(),
        ]
        dumped = [json.dumps(row.model_dump(mode="json"), ensure_ascii=False) for row in rows]
    assert dumped, "nothing was written"
    return [text for text in dumped if "\\u0000" in text or "\x00" in text]


def _write_with_nul(db: Database) -> None:
    records = RecordActivities(db)
    assert records.record_transition(_record(0, note="Thiếu giấy tờ\x00")) is True
    assert records.record_transition(_record(0, note="Thiếu giấy tờ\x00")) is False  # a retry
    assert records.record_transition(_record(1, note=None)) is True
    with db.session() as session:
        row = session.get(Dossier, CODE)
        assert row is not None
        assert (row.status, row.last_seq, row.tracking_number) == ("REFUSED", 1, "EV1")
        assert row.state == {"reason": "Thiếu", "allowed_actions": {}}
        event = session.exec(select(DossierEvent).where(DossierEvent.seq == 0)).one()
        assert (event.note, event.actor) == ("Thiếu giấy tờ", "official:1")
        assert event.data == {"reason": "Thiếu", "items": ["a", 1, None]}
        [doc] = session.exec(select(DossierDocument)).all()  # one, not one per transition
        assert doc.name == "kq.pdf"
    message = OutgoingMessage(CODE, 0, "citizen:1", "status_changed",
                              "Hồ sơ\x00", "Ghi chú: Thiếu\x00", 1)  # fmt: skip
    assert Dispatcher(db).deliver(message) == 1
    assert Dispatcher(db).deliver(message) == 0  # a retry finds its row
    with db.session() as session:
        notice = session.exec(select(Notification)).one()
        assert (notice.subject, notice.body) == ("Hồ sơ", "Ghi chú: Thiếu")


def test_the_writers_take_out_nul_characters_on_sqlite(db: Database) -> None:
    _write_with_nul(db)
    assert _nul_anywhere(db) == []


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:  # noqa: F811
    upgrade(pg_url)
    database = Database(pg_url)
    try:
        yield database
    finally:
        database.dispose()


def test_a_nul_in_a_workflow_history_never_blocks_the_case_on_postgresql(
    pg_db: Database,
) -> None:
    """Sent before the API refused it (or from the Temporal UI): the activity writes the
    transition instead of failing on every retry."""
    _write_with_nul(pg_db)
    assert _nul_anywhere(pg_db) == []


# ---------------------------------------------------------------------- over the API


async def test_the_api_refuses_control_characters_before_the_workflow(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        bad_form = await p.submit(citizen, form={**LLTP_FORM, "muc_dich": "Xin việc\x00"})
        assert bad_form.status_code == 422, bad_form.text
        assert "ký tự không hợp lệ" in json.dumps(bad_form.json(), ensure_ascii=False)
        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)

        refused = await p.act(reception, code, "refuse", {"reason": "Thiếu giấy tờ\x00"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [{"loc": ["reason"], "msg": BAD}]
        asked = await p.act(reception, code, "request_supplement", {"items": ["Ảnh rõ hơn"]})
        assert asked.status_code == 200, asked.text
        await p.settled(code, seq=1)

        # The citizen's supplement: its note goes to the workflow, then to the timeline.
        sent = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers=citizen,
            data={"note": "Đã chụp lại\x00"},
            files=[("giay_to_tuy_than", ("cccd.pdf", PDF_BYTES + b"%2", "application/pdf"))],
        )
        assert sent.status_code == 422, sent.text
        assert sent.json()["errors"] == [{"loc": ["note"], "msg": BAD}]
        with p.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and (row.status, row.last_seq) == ("SUPPLEMENT_REQUESTED", 1)
