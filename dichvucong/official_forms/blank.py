"""Printable blank forms of a procedure (service level 2 and the paper channel): a
citizen downloads one from the procedure's page, fills it by hand and files it at the
counter or by post. A4 portrait, DejaVu Sans as the official forms."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from dichvucong.catalog.models import DownloadableForm, Procedure
from dichvucong.official_forms.pdf import _p, _styles, pdf_document, register_fonts

# Printed on every blank form; the labels of the lines to fill.
TEXTS = {
    "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "motto": "Độc lập - Tự do - Hạnh phúc",
    "to": "Kính gửi: {agency}",
    "procedure": "Thủ tục: {name} (mã {national_code})",
    "place_date": "……………, ngày …… tháng …… năm ……",
    "signer": "NGƯỜI LÀM ĐƠN",
    "sign_hint": "(Ký, ghi rõ họ tên)",
    "documents": "Giấy tờ kèm theo:",
    "note": "Biểu mẫu in từ Cổng Dịch vụ công; nội dung theo mẫu ban hành kèm văn bản nêu ở "
    "mục Căn cứ pháp lý của thủ tục.",
}
APPLICANT_LINES = (
    "Họ và tên người làm đơn",
    "Số định danh cá nhân (CCCD)",
    "Địa chỉ liên hệ",
    "Số điện thoại",
)


def render_blank_form(procedure: Procedure, form: DownloadableForm, agency_name: str) -> bytes:
    """The form as PDF bytes: its title, the lines to fill (the procedure's e-form
    fields, or the applicant's details), the documents to attach, a signature."""
    register_fonts()
    margin = 18 * mm
    out = io.BytesIO()
    doc = pdf_document(
        out,
        A4,
        margin,
        title=f"{form.name} — {form.description or procedure.name}",
        author=agency_name,
        subject=procedure.name,
    )
    width = A4[0] - 2 * margin
    s = _styles(small=False)
    story: list[Flowable] = [
        _p(TEXTS["nation"], s["center_bold"]),
        _p(TEXTS["motto"], s["center_bold"]),
        Spacer(1, 6 * mm),
        _p(form.name, s["center"]),
        _p((form.description or procedure.name).rstrip(".").upper(), s["title"]),
        _p(TEXTS["to"].format(agency=agency_name), s["center"]),
        Spacer(1, 4 * mm),
    ]
    labels = [f.label for f in procedure.form_fields if f.type != "checkbox"] or list(
        APPLICANT_LINES
    )
    story.append(_lines_to_fill(labels, s, width))
    if procedure.documents:
        story.append(Spacer(1, 2 * mm))
        story.append(Paragraph(f"<b>{escape(TEXTS['documents'])}</b>", s["body"]))
        for doc_slot in procedure.documents:
            story.append(_p(f"☐ {doc_slot.name}", s["body"]))
    story += [
        Spacer(1, 6 * mm),
        _signature_block(s, width),
        Spacer(1, 10 * mm),
        _p(
            TEXTS["procedure"].format(
                name=procedure.name, national_code=procedure.national_code or "—"
            ),
            s["small"],
        ),
        _p(TEXTS["note"], s["small"]),
    ]
    doc.build(story)
    return out.getvalue()


def _lines_to_fill(labels: list[str], s: dict[str, ParagraphStyle], width: float) -> Table:
    """Each label, then a ruled space to write on."""
    table = Table(
        [[_p(f"{label}:", s["body"]), ""] for label in labels],
        colWidths=[width * 0.42, width * 0.58],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (1, 0), (1, -1), 0.4, colors.grey),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 4 * mm),  # room to write
            ]
        )
    )
    return table


def _signature_block(s: dict[str, ParagraphStyle], width: float) -> Table:
    block = [
        _p(TEXTS["place_date"], s["center"]),
        _p(TEXTS["signer"], s["center_bold"]),
        _p(TEXTS["sign_hint"], s["center"]),
    ]
    table = Table([["", block]], colWidths=[width * 0.45, width * 0.55])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table
