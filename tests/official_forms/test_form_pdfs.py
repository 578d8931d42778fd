"""Forms 01–05 rendered to PDF keep their Vietnamese text (extracted with pypdf),
and Form 01's QR code holds the public lookup URL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import segno

from dichvucong.catalog import load_catalog
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent
from dichvucong.official_forms import (
    TITLES,
    FormNotAvailable,
    FormSources,
    build_context,
    lookup_url,
    render_pdf,
)
from dichvucong.official_forms.pdf import QR_BORDER, QR_SCALE

pypdf = pytest.importorskip("pypdf")

CODE = "000.00.12.H19-270105-0007"
BASE = "https://dichvucong.dongnai.gov.vn"


def t(day: int, hour: int) -> datetime:
    return datetime(2027, 1, day, hour, 0, tzinfo=UTC)


def sources() -> FormSources:
    dossier = Dossier(
        code=CODE,
        procedure_code="ly-lich-tu-phap",
        agency_code="000.00.12.H19",
        applicant_name="Nguyễn Văn An",
        delivery="online",
        submitted_at=t(5, 1),
        received_at=t(5, 2),
        due_at=t(20, 9),
        status="PROCESSING",
        fee_amount=200_000,
        state={
            "hand_overs": [
                {
                    "step": "tham_dinh",
                    "step_name": "Thẩm định hồ sơ, xác minh thông tin",
                    "role": "specialist",
                    "received_at": t(5, 2).isoformat(),
                    "due_at": t(12, 9).isoformat(),
                    "finished_at": t(8, 3).isoformat(),
                    "official_id": "official:2",
                    "action": "approve",
                    "result": "early",
                },
                {
                    "step": "phe_duyet",
                    "step_name": "Lãnh đạo phê duyệt",
                    "role": "leader",
                    "received_at": t(8, 3).isoformat(),
                    "due_at": t(14, 9).isoformat(),
                },
            ],
            "due_history": [
                {"at": t(5, 2).isoformat(), "due_at": t(20, 9).isoformat(), "reason": "received"},
                {"at": t(18, 3).isoformat(), "due_at": t(25, 9).isoformat(), "reason": "apology"},
            ],
        },
    )
    documents = [
        DossierDocument(
            dossier_code=CODE,
            kind="submitted",
            slot="giay_to_tuy_than",
            name="cccd.pdf",
            media_type="application/pdf",
            size=10,
            sha256="a" * 64,
        )
    ]

    def event(seq: int, action: str, actor: str, note: str | None = None, **data: object):
        return DossierEvent(
            dossier_code=CODE,
            seq=seq,
            at=t(5 + seq, 3),
            actor=actor,
            action=action,
            to_status="PROCESSING",
            note=note,
            data=dict(data),
        )

    events = [
        event(0, "submit", "citizen"),
        event(1, "accept", "official:1"),
        event(
            2,
            "request_supplement",
            "official:2",
            "Ảnh chụp bị mờ",
            items=["Bản chụp Căn cước công dân rõ nét", "Giấy ủy quyền có chứng thực"],
        ),
        event(3, "apologize", "official:3", "Chờ kết quả xác minh của cơ quan công an"),
        event(4, "reject", "official:3", "Không đủ điều kiện cấp phiếu; Hồ sơ giả mạo"),
    ]
    officials = {
        "official:1": "Trần Thị Bình",
        "official:2": "Lê Văn Cường",
        "official:3": "Phạm Đức Dũng",
    }
    return FormSources(dossier=dossier, documents=documents, events=events, officials=officials)


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


EXPECTED = {
    "01": [
        "Thành phần hồ sơ đã nhận",
        "Phiếu lý lịch tư pháp",
        "Hình thức nhận kết quả",
        "200.000 đồng",
        "Trần Thị Bình",
    ],
    "02": [
        "Bản chụp Căn cước công dân rõ nét",
        "Giấy ủy quyền có chứng thực",
        "Lê Văn Cường",
        "Ảnh chụp bị mờ",
    ],
    "03": ["từ chối giải quyết", "Không đủ điều kiện cấp phiếu", "Hồ sơ giả mạo"],
    "04": [
        "Chờ kết quả xác minh của cơ quan công an",
        "16:00 20/01/2027",
        "16:00 25/01/2027",
        "chân thành xin lỗi",
    ],
    "05": ["Thẩm định hồ sơ, xác minh thông tin", "Lê Văn Cường", "Trước hạn", "Đang xử lý"],
}


@pytest.mark.parametrize("form_no", ["01", "02", "03", "04", "05"])
def test_every_form_keeps_its_vietnamese_text(form_no: str, catalog) -> None:
    context = build_context(form_no, sources(), catalog, public_base_url=BASE, now=t(28, 3))
    pdf = render_pdf(form_no, context)
    assert pdf.startswith(b"%PDF")
    text = flat(text_of(pdf))
    assert TITLES[form_no].upper() in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Nguyễn Văn An" in text
    assert CODE in text
    assert f"Mẫu số {form_no}" in text
    for phrase in EXPECTED[form_no]:
        assert phrase in text, phrase
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    if form_no == "05":
        assert (round(width), round(height)) == (842, 595)  # A4 landscape
    else:
        assert (round(width), round(height)) == (420, 595)  # A5


def test_form01_title_in_plain_words(catalog) -> None:
    pdf = render_pdf("01", build_context("01", sources(), catalog, public_base_url=BASE))
    text = flat(text_of(pdf))
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert TITLES["01"] == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"


def test_form01_qr_code_decodes_to_the_lookup_url(catalog) -> None:
    context = build_context("01", sources(), catalog, public_base_url=BASE)
    url = f"{BASE}/tra-cuu?q={CODE}"
    assert context["lookup_url"] == url == lookup_url(BASE + "/", CODE)
    pdf = render_pdf("01", context)
    assert url in flat(text_of(pdf))
    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) == 1
    picture = images[0].image.convert("L")
    # Read the embedded picture back module by module and compare with the QR code
    # of the expected URL: the same matrix means it decodes to the same text.
    expected = segno.make(url, error="m")
    size = len(expected.matrix)
    assert picture.size == ((size + 2 * QR_BORDER) * QR_SCALE,) * 2
    offset = QR_BORDER * QR_SCALE + QR_SCALE // 2
    modules = [
        [
            picture.getpixel((offset + x * QR_SCALE, offset + y * QR_SCALE)) < 128
            for x in range(size)
        ]
        for y in range(size)
    ]
    assert modules == [[bool(v) for v in row] for row in expected.matrix]


def test_forms_that_the_case_has_not_reached_are_not_available(catalog) -> None:
    bare = sources()
    bare = FormSources(
        dossier=bare.dossier.model_copy(update={"state": {}}),
        documents=bare.documents,
        events=bare.events[:2],
        officials=bare.officials,
    )
    for form_no in ("02", "03", "04"):
        with pytest.raises(FormNotAvailable):
            build_context(form_no, bare, catalog, public_base_url=BASE)
    assert build_context("05", bare, catalog, public_base_url=BASE)["rows"] == []


@pytest.mark.parametrize("status", ["REFUSED", "WITHDRAWN"])
def test_form01_does_not_exist_for_a_dossier_closed_before_reception(catalog, status) -> None:
    # Refused at reception (Form 03 instead) or withdrawn while waiting: the agency
    # never received it, so there is no receipt and no date to promise.
    base = sources()
    closed = FormSources(
        dossier=base.dossier.model_copy(
            update={"status": status, "received_at": None, "due_at": None}
        ),
        documents=base.documents,
        events=base.events[:1],
        officials=base.officials,
    )
    with pytest.raises(FormNotAvailable):
        build_context("01", closed, catalog, public_base_url=BASE)
    waiting = FormSources(
        dossier=closed.dossier.model_copy(update={"status": "SUBMITTED"}),
        documents=base.documents,
        events=base.events[:1],
        officials=base.officials,
    )
    context = build_context("01", waiting, catalog, public_base_url=BASE)
    assert not context["received"] and "chờ tiếp nhận" in context["due_note"]


def test_form01_of_a_received_dossier_waiting_for_its_fee_says_why_there_is_no_date(
    catalog,
) -> None:
    # A fee payable at submission: the time limit runs from the payment, so the slip
    # given at reception has no date yet and must say so rather than print nothing.
    base = sources()
    unpaid = FormSources(
        dossier=base.dossier.model_copy(update={"status": "AWAITING_PAYMENT", "due_at": None}),
        documents=base.documents,
        events=base.events[:2],
        officials=base.officials,
    )
    context = build_context("01", unpaid, catalog, public_base_url=BASE)
    assert context["received"]
    text = flat(text_of(render_pdf("01", context)))
    assert "Ngày hẹn trả kết quả được tính khi hồ sơ đã nộp phí, lệ phí." in text
    paid = build_context("01", sources(), catalog, public_base_url=BASE)
    assert paid["due_note"] == ""
