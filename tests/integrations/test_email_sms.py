"""Email over SMTP to a real aiosmtpd server on loopback; the SMS dev sink."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from dichvucong.activities.contracts import NotifyRequest
from dichvucong.activities.notify import MAX_SEND_ATTEMPTS, NotifyActivities, OutgoingMessage
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenAccount, Notification
from dichvucong.integrations.email import EmailChannel, message_id
from dichvucong.integrations.factory import build_channels
from dichvucong.integrations.sms import SmsChannel, SmsSink, is_gsm7, segments, sms_text
from dichvucong.settings import Settings
from dichvucong.simulators.mail import DevSmtpServer, MailStore, dev_mail_router, start_dev_smtp

CODE = "000.00.10.H19-250301-0042"
VN = timezone(timedelta(hours=7))
BASE = "http://dvc.test"


@pytest.fixture
def smtp(free_port: Callable[..., int]) -> Iterator[DevSmtpServer]:
    with start_dev_smtp("127.0.0.1", free_port(), MailStore()) as server:
        yield server


def _citizen(db: Database, email: str | None = "hoa.tran@example.vn") -> int:
    from datetime import date

    with db.session() as session:
        row = CitizenAccount(full_name="Trần Thị Hoà", id_number="075190000999",
                             date_of_birth=date(1990, 1, 2), phone="0987654321", email=email,
                             address="Biên Hòa", password_hash="x")
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _supplement_request(citizen_id: int, seq: int = 3) -> NotifyRequest:
    return NotifyRequest(dossier_code=CODE, seq=seq, kind="status_changed", audience="citizen",
                         procedure_name="Cấp giấy phép xây dựng nhà ở riêng lẻ",
                         agency_code="DN-BH", status="SUPPLEMENT_REQUESTED",
                         citizen_id=citizen_id,
                         due_at=datetime(2025, 3, 14, 16, 30, tzinfo=VN),
                         items=["Bản vẽ thiết kế có chữ ký", "Giấy chứng nhận quyền sử dụng đất"])


def _email(db: Database, smtp: DevSmtpServer) -> EmailChannel:
    return EmailChannel(db, host=smtp.host, port=smtp.port, public_base_url=BASE)


def test_email_content_read_from_the_smtp_inbox(db: Database, smtp: DevSmtpServer) -> None:
    citizen = _citizen(db)
    notify = NotifyActivities(db, channels=[_email(db, smtp)])
    notify.notify(_supplement_request(citizen))

    [mail] = smtp.store.messages()
    assert mail.rcpt_tos == ["hoa.tran@example.vn"]
    assert mail.subject == f"Hồ sơ {CODE}: Chờ bổ sung hồ sơ"
    assert mail.message_id == message_id(CODE, 3, "email", "dichvucong.local")
    text = mail.body("plain")
    assert "Kính gửi Trần Thị Hoà," in text
    assert "Cấp giấy phép xây dựng nhà ở riêng lẻ" in text  # what happened
    assert "Cần bổ sung: Bản vẽ thiết kế có chữ ký; Giấy chứng nhận quyền sử dụng đất" in text
    assert "Việc cần làm: bổ sung các giấy tờ được yêu cầu" in text  # what is asked
    assert "16:30 14/03/2025" in text  # the due moment
    assert f"{BASE}/ho-so/{CODE}" in text  # the link
    html = mail.body("html")
    assert f'href="{BASE}/ho-so/{CODE}"' in html and "Kính gửi Trần Thị Hoà" in html
    assert "Trần Thị Hoà" in str(mail.message["To"])


def test_one_email_per_transition_even_when_the_activity_retries(
        db: Database, smtp: DevSmtpServer) -> None:
    citizen = _citizen(db)
    notify = NotifyActivities(db, channels=[_email(db, smtp)])
    assert notify.notify(_supplement_request(citizen)) == 2  # in-app + email
    assert notify.notify(_supplement_request(citizen)) == 0
    assert len(smtp.store.messages()) == 1
    notify.notify(_supplement_request(citizen, seq=4))
    ids = [m.message_id for m in smtp.store.messages()]
    assert len(set(ids)) == 2


def test_failed_send_is_retried_by_the_activity(db: Database, free_port) -> None:  # type: ignore[no-untyped-def]
    citizen = _citizen(db)
    port = free_port()
    channel = EmailChannel(db, host="127.0.0.1", port=port, public_base_url=BASE, timeout=2)
    notify = NotifyActivities(db, channels=[channel])
    with pytest.raises(OSError):
        notify.notify(_supplement_request(citizen))  # SMTP server down
    with start_dev_smtp("127.0.0.1", port, MailStore()) as smtp:
        assert notify.notify(_supplement_request(citizen)) == 1  # only the email was missing
        assert len(smtp.store.messages()) == 1


def test_a_mail_server_down_does_not_keep_the_sms_back(
        db: Database, free_port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each channel is tried on its own: the SMS goes out, the email's claim is given
    back and the retry sends only the email."""
    citizen = _citizen(db)
    port = free_port()
    sink = SmsSink(tmp_path / "sms.jsonl")
    channels = [EmailChannel(db, host="127.0.0.1", port=port, public_base_url=BASE, timeout=2),
                SmsChannel(db, sink, public_base_url=BASE)]  # fmt: skip
    notify = NotifyActivities(db, channels=channels)
    with pytest.raises(OSError):
        notify.notify(_supplement_request(citizen))  # SMTP server down
    assert len(sink.messages()) == 1
    with db.session() as session:
        assert sorted(n.channel for n in session.exec(select(Notification)).all()) == [
            "inapp", "sms"]  # fmt: skip
    with start_dev_smtp("127.0.0.1", port, MailStore()) as smtp:
        assert notify.notify(_supplement_request(citizen)) == 1  # the email
        assert notify.notify(_supplement_request(citizen)) == 0
        assert len(smtp.store.messages()) == 1
    assert len(sink.messages()) == 1


def test_a_notice_is_given_up_after_the_last_attempt_and_the_case_goes_on(
        db: Database, free_port, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    citizen = _citizen(db)
    channel = EmailChannel(db, host="127.0.0.1", port=free_port(), public_base_url=BASE,
                           timeout=2)  # fmt: skip
    notify = NotifyActivities(db, channels=[channel])
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=MAX_SEND_ATTEMPTS - 1)
    with pytest.raises(OSError):
        env.run(notify.notify, _supplement_request(citizen))
    env.info = dataclasses.replace(env.info, attempt=MAX_SEND_ATTEMPTS)
    assert env.run(notify.notify, _supplement_request(citizen)) == 0  # returns: no retry
    assert "notice_undelivered" in caplog.text and "channel=email" in caplog.text
    with db.session() as session:
        assert [n.channel for n in session.exec(select(Notification)).all()] == ["inapp"]


def test_no_email_without_an_address_or_for_agency_notices(
        db: Database, smtp: DevSmtpServer) -> None:
    citizen = _citizen(db, email=None)
    channel = _email(db, smtp)
    NotifyActivities(db, channels=[channel]).notify(_supplement_request(citizen))
    channel.send(OutgoingMessage(CODE, 5, "agency:DN-BH:leader", "overdue", "s", "b", None))
    assert smtp.store.messages() == []


def test_sms_sink_keeps_a_single_gsm_segment(db: Database, tmp_path: Path) -> None:
    citizen = _citizen(db)
    sink = SmsSink(tmp_path / "sms.jsonl")
    notify = NotifyActivities(db, channels=[SmsChannel(db, sink, public_base_url=BASE)])
    notify.notify(_supplement_request(citizen))
    notify.notify(_supplement_request(citizen))
    [sms] = sink.messages()
    assert sms.to == "0987654321"
    assert sms.text.startswith(f"DVC Dong Nai: Ho so {CODE} can bo sung giay to.")
    assert sms.text.endswith(f"{BASE}/ho-so/{CODE}")
    assert is_gsm7(sms.text) and len(sms.text) <= 160 and segments(sms.text) == 1
    with db.session() as session:
        channels = sorted(n.channel for n in session.exec(select(Notification)).all())
    assert channels == ["inapp", "sms"]


def test_sms_text_shortens_long_subjects() -> None:
    message = OutgoingMessage("X" * 30, 1, "citizen:1", "weird", "Ồ" * 300, "", 1)
    text = sms_text(message, BASE)
    assert len(text) <= 160 and is_gsm7(text) and text.endswith(f"/ho-so/{'X' * 30}")
    assert segments("ồ" * 71) == 2 and segments("o" * 160) == 1


def test_dev_mail_page_lists_messages_from_a_folder(
        db: Database, tmp_path: Path, free_port) -> None:  # type: ignore[no-untyped-def]
    citizen = _citizen(db)
    folder = tmp_path / "mail"
    with start_dev_smtp("127.0.0.1", free_port(), MailStore(folder)) as smtp:
        NotifyActivities(db, channels=[_email(db, smtp)]).notify(_supplement_request(citizen))
    # another process (the web app) reads the same folder
    sink = SmsSink(tmp_path / "sms.jsonl")
    SmsChannel(db, sink, public_base_url=BASE).send(
        OutgoingMessage(CODE, 1, f"citizen:{citizen}", "payment_reminder", "s", "b", citizen))
    app = FastAPI()
    app.include_router(dev_mail_router(MailStore(folder), sink), prefix="/_dev/mail")
    client = TestClient(app)
    page = client.get("/_dev/mail")
    assert page.status_code == 200
    assert f"Hồ sơ {CODE}: Chờ bổ sung hồ sơ" in page.text
    assert "nhac nop phi" in page.text
    [listed] = client.get("/_dev/mail/messages.json").json()
    detail = client.get(f"/_dev/mail/{listed['id']}")
    assert "Việc cần làm" in detail.text and "Trần Thị Hoà" in detail.text


def test_build_channels_reads_settings(db: Database, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url=db.url, environment="test")
    email, sms = build_channels(settings, db)
    assert (email.name, sms.name) == ("email", "sms")
    assert (email.host, email.port) == ("127.0.0.1", 8025)  # type: ignore[attr-defined]


def test_a_feedback_notice_names_no_dossier_page(db: Database, smtp: DevSmtpServer) -> None:
    citizen = _citizen(db)
    code = "PAKN-000.00.21.H19-261122-47AC0C"
    message = OutgoingMessage(code, 3, f"citizen:{citizen}", "feedback_answered",
                              f"Phản ánh, kiến nghị {code} đã được trả lời",
                              "Cơ quan đã trả lời phản ánh «Thái độ»:\n\nĐã chấn chỉnh.",
                              citizen)  # fmt: skip
    _email(db, smtp).send(message)
    [mail] = smtp.store.messages()
    assert "/ho-so/" not in mail.body("plain") and "/ho-so/" not in mail.body("html")
    assert "Đã chấn chỉnh." in mail.body("plain")
    text = sms_text(message, BASE)
    assert text == f"DVC Dong Nai: Phan anh {code} da duoc tra loi."


def test_the_channels_name_the_notice_status_not_one_quoted_in_a_note(
    db: Database, smtp: DevSmtpServer, tmp_path: Path
) -> None:
    # The body quotes the official's note; the status comes with the notice itself.
    citizen = _citizen(db)
    sink = SmsSink(tmp_path / "sms.jsonl")
    channels = [_email(db, smtp), SmsChannel(db, sink, public_base_url=BASE)]
    ready = NotifyRequest(dossier_code=CODE, seq=7, kind="status_changed", audience="citizen",
                          procedure_name="Cấp Phiếu lý lịch tư pháp", agency_code="DN-BH",
                          status="RESULT_READY", citizen_id=citizen,
                          note="Không còn «Chờ bổ sung hồ sơ» nữa.")  # fmt: skip
    NotifyActivities(db, channels=channels).notify(ready)
    [mail] = smtp.store.messages()
    assert "Việc cần làm: đến Bộ phận Một cửa nhận kết quả" in mail.body("plain")
    assert "bổ sung các giấy tờ được yêu cầu" not in mail.body("plain")
    [sms] = sink.messages()
    assert "da co ket qua" in sms.text


def test_the_email_lists_the_missing_documents_and_the_deadline(
    db: Database, smtp: DevSmtpServer
) -> None:
    citizen = _citizen(db)
    NotifyActivities(db, channels=[_email(db, smtp)]).notify(_supplement_request(citizen))
    [mail] = smtp.store.messages()
    text = mail.body("plain")
    assert "Giấy tờ cần bổ sung:" in text
    assert "Thời hạn: 16:30 14/03/2025" in text


def test_an_apology_notice_apologises_with_the_reason_and_the_new_date(
    db: Database, smtp: DevSmtpServer
) -> None:
    citizen = _citizen(db)
    apology = NotifyRequest(dossier_code=CODE, seq=9, kind="apology", audience="citizen",
                            procedure_name="Cấp Phiếu lý lịch tư pháp", agency_code="DN-BH",
                            status="PROCESSING", citizen_id=citizen, note="Chờ xác minh",
                            due_at=datetime(2025, 3, 21, 16, 0, tzinfo=VN))  # fmt: skip
    NotifyActivities(db, channels=[_email(db, smtp)]).notify(apology)
    [mail] = smtp.store.messages()
    assert "xin lỗi" in mail.subject
    text = " ".join(mail.body("plain").split())
    assert "chân thành xin lỗi" in text and "Lý do: Chờ xác minh." in text
    assert "Ngày hẹn trả kết quả mới: 16:00 21/03/2025." in text
    assert "chuyển sang trạng thái" not in text
