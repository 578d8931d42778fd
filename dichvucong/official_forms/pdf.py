"""The official forms as PDF (reportlab), in DejaVu Sans so every Vietnamese
diacritic is embedded and extractable. A5 portrait; Form 05 A4 landscape."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
QR_SCALE, QR_BORDER = 4, 2  # pixels per module, quiet-zone modules (PNG in the PDF)

_registered = False


def register_fonts() -> None:
    global _registered
    if _registered:
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )
    _registered = True


def _styles(small: bool) -> dict[str, ParagraphStyle]:
    size = 8.5 if small else 10
    body = ParagraphStyle("body", fontName=FONT, fontSize=size, leading=size * 1.35)
    return {
        "body": body,
        "small": ParagraphStyle(
            "small", parent=body, fontSize=size - 1.5, leading=(size - 1.5) * 1.3
        ),
        "center": ParagraphStyle("center", parent=body, alignment=TA_CENTER),
        "center_bold": ParagraphStyle("cb", parent=body, alignment=TA_CENTER, fontName=FONT_BOLD),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "title": ParagraphStyle(
            "title",
            parent=body,
            alignment=TA_CENTER,
            fontName=FONT_BOLD,
            fontSize=size + 3,
            leading=(size + 3) * 1.3,
            spaceBefore=6,
            spaceAfter=6,
        ),
        "cell": ParagraphStyle(
            "cell", parent=body, fontSize=size - 1.5, leading=(size - 1.5) * 1.25
        ),
        "cell_bold": ParagraphStyle(
            "cellb",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=size - 1.5,
            leading=(size - 1.5) * 1.25,
        ),
    }


def qr_png(data: str) -> bytes:
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _pb(label: str, value: Any, style: ParagraphStyle) -> Paragraph:
    """ "<b>label</b> value" with the value escaped."""
    return Paragraph(f"<b>{escape(label)}</b> {escape(str(value))}", style)


class _Rule(Flowable):
    def __init__(self, width: float) -> None:
        super().__init__()
        self.width, self.height = width, 2

    def draw(self) -> None:
        self.canv.setLineWidth(0.6)
        self.canv.line(self.width * 0.3, 1, self.width * 0.7, 1)


def _header(ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    left = [
        _p(ctx["agency_name"].upper(), s["center_bold"]),
        _p(f"Số hồ sơ: {ctx['dossier_code']}", s["center"]),
    ]
    right = [
        _p("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", s["center_bold"]),
        _p("Độc lập - Tự do - Hạnh phúc", s["center_bold"]),
    ]
    table = Table([[left, right]], colWidths=[width * 0.45, width * 0.55])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [
        _p(f"Mẫu số {ctx['form_no']}", s["right"]),
        table,
        Spacer(1, 2 * mm),
        _p(ctx["place_date"], s["right"]),
        _p(ctx["title"].upper(), s["title"]),
    ]


def _signature(
    ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float, who: str, name: str
) -> Flowable:
    block = [
        _p(who, s["center_bold"]),
        _p("(Ký, ghi rõ họ tên)", s["center"]),
        Spacer(1, 12 * mm),
        _p(name, s["center_bold"]),
    ]
    table = Table([["", block]], colWidths=[width * 0.45, width * 0.55])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return KeepTogether([Spacer(1, 4 * mm), table])


def _grid(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _form01(ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    story: list[Flowable] = [
        _pb("Bộ phận tiếp nhận và trả kết quả:", ctx["agency_name"], s["body"]),
        _pb("Tiếp nhận hồ sơ của:", ctx["applicant_name"], s["body"]),
        _pb("Nội dung yêu cầu giải quyết:", ctx["procedure_name"], s["body"]),
        _pb("Thời điểm tiếp nhận:", ctx["received_at"], s["body"]),
        Spacer(1, 2 * mm),
        _p("Thành phần hồ sơ đã nhận:", s["body"]),
    ]
    rows: list[list[Any]] = [
        [_p("TT", s["cell_bold"]), _p("Tên giấy tờ", s["cell_bold"]), _p("Tệp", s["cell_bold"])]
    ]
    for i, doc in enumerate(ctx["documents"], 1):
        rows.append([_p(i, s["cell"]), _p(doc["name"], s["cell"]), _p(doc["file"], s["cell"])])
    story += [_grid(rows, [8 * mm, width * 0.62, width - 8 * mm - width * 0.62]), Spacer(1, 2 * mm)]
    story += [
        _pb("Thời hạn giải quyết:", ctx["time_limit"], s["body"]),
        _pb("Phí, lệ phí:", ctx["fee"], s["body"]),
    ]
    if ctx["received"]:
        story.append(_pb("Thời gian trả kết quả giải quyết hồ sơ:", ctx["due_at"], s["body"]))
    if ctx["due_note"]:  # why there is no date (yet): not received, or the fee comes first
        story.append(_p(ctx["due_note"], s["body"]))
    story.append(_pb("Hình thức nhận kết quả:", ctx["delivery"], s["body"]))
    qr = Image(io.BytesIO(qr_png(ctx["lookup_url"])), width=24 * mm, height=24 * mm)
    lookup = [
        _p("Tra cứu tình trạng hồ sơ: quét mã QR hoặc truy cập", s["small"]),
        _p(ctx["lookup_url"], s["small"]),
    ]
    box = Table([[qr, lookup]], colWidths=[27 * mm, width - 27 * mm])
    box.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    story += [Spacer(1, 2 * mm), box, _signature(ctx, s, width, "NGƯỜI TIẾP NHẬN", ctx["receiver"])]
    return story


def _form02(ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    story: list[Flowable] = [
        _pb("Kính gửi:", ctx["applicant_name"], s["body"]),
        _p(
            f"Cơ quan {ctx['agency_name']} đã nhận hồ sơ số {ctx['dossier_code']} về việc "
            f"«{ctx['procedure_name']}».",
            s["body"],
        ),
        _p(
            "Sau khi xem xét, hồ sơ cần được bổ sung, hoàn thiện đầy đủ các nội dung sau "
            "(yêu cầu một lần):",
            s["body"],
        ),
    ]
    for i, item in enumerate(ctx["items"], 1):
        story.append(_p(f"{i}. {item}", s["body"]))
    if ctx["note"]:
        story.append(_pb("Ghi chú:", ctx["note"], s["body"]))
    story.append(
        _p(
            "Sau khi hồ sơ bổ sung đầy đủ được tiếp nhận, thời hạn giải quyết được tính "
            "lại từ đầu. Xin trân trọng cảm ơn!",
            s["body"],
        )
    )
    story.append(_signature(ctx, s, width, "NGƯỜI LẬP PHIẾU", ctx["official"]))
    return story


def _form03(ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    story: list[Flowable] = [
        _pb("Kính gửi:", ctx["applicant_name"], s["body"]),
        _p(
            f"Cơ quan {ctx['agency_name']} từ chối {ctx['kind']} hồ sơ số {ctx['dossier_code']} "
            f"về việc «{ctx['procedure_name']}» vì các lý do sau:",
            s["body"],
        ),
    ]
    for i, reason in enumerate(ctx["reasons"], 1):
        story.append(_p(f"{i}. {reason}", s["body"]))
    story.append(_p("Xin thông báo để ông/bà biết. Xin trân trọng cảm ơn!", s["body"]))
    story.append(_signature(ctx, s, width, "NGƯỜI LẬP PHIẾU", ctx["official"]))
    return story


def _form04(ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    return [
        _pb("Kính gửi:", ctx["applicant_name"], s["body"]),
        _p(
            f"Cơ quan {ctx['agency_name']} đã tiếp nhận hồ sơ số {ctx['dossier_code']} về việc "
            f"«{ctx['procedure_name']}», hẹn trả kết quả vào {ctx['old_due']}.",
            s["body"],
        ),
        _pb("Tuy nhiên, đến nay chưa giải quyết xong hồ sơ. Lý do:", ctx["reason"], s["body"]),
        _p(
            "Sự chậm trễ này đã gây phiền hà cho ông/bà. Chúng tôi chân thành xin lỗi và xin hẹn "
            "trả kết quả vào:",
            s["body"],
        ),
        _p(ctx["new_due"], s["center_bold"]),
        _p("Rất mong nhận được sự thông cảm của ông/bà. Xin trân trọng cảm ơn!", s["body"]),
        _signature(ctx, s, width, "THỦ TRƯỞNG CƠ QUAN", ctx["official"]),
    ]


def _form05(ctx: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    story: list[Flowable] = [
        _pb("Hồ sơ của:", ctx["applicant_name"], s["body"]),
        _pb("Thủ tục:", ctx["procedure_name"], s["body"]),
        _pb("Thời điểm tiếp nhận:", ctx["received_at"], s["body"]),
        _pb("Hẹn trả kết quả:", ctx["due_at"], s["body"]),
        _pb("Trạng thái:", ctx["status"], s["body"]),
        Spacer(1, 2 * mm),
    ]
    head = [
        "TT",
        "Bước xử lý",
        "Bên giao",
        "Bên nhận",
        "Thời điểm nhận",
        "Hạn xử lý",
        "Hoàn thành",
        "Người xử lý",
        "Kết quả",
        "Đánh giá",
    ]
    rows: list[list[Any]] = [[_p(h, s["cell_bold"]) for h in head]]
    for i, r in enumerate(ctx["rows"], 1):
        rows.append(
            [
                _p(v, s["cell"])
                for v in (
                    i,
                    r["step"],
                    r["from"],
                    r["to"],
                    r["received_at"],
                    r["due_at"],
                    r["finished_at"],
                    r["official"],
                    r["action"],
                    r["result"],
                )
            ]
        )
    fractions = [0.04, 0.2, 0.1, 0.08, 0.1, 0.1, 0.1, 0.1, 0.1, 0.08]
    story.append(_grid(rows, [width * f for f in fractions]))
    return story


_BUILDERS = {"01": _form01, "02": _form02, "03": _form03, "04": _form04, "05": _form05}


def pdf_document(
    out: io.BytesIO, page: tuple[float, float], margin: float, *, title: str, author: str,
    subject: str,
) -> SimpleDocTemplate:
    """A document of equal margins with its metadata (shown by PDF readers)."""
    return SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
        author=author,
        subject=subject,
        creator="dichvucong",
    )


def render_pdf(form_no: str, context: dict[str, Any]) -> bytes:
    """The form as PDF bytes (context from :func:`build_context`)."""
    register_fonts()
    page = landscape(A4) if context.get("page_size") == "A4" else A5
    margin = 12 * mm
    out = io.BytesIO()
    doc = pdf_document(
        out,
        page,
        margin,
        title=f"Mẫu số {form_no} — {context['title']}",
        author=context["agency_name"],
        subject=context["dossier_code"],
    )
    width = page[0] - 2 * margin
    styles = _styles(small=page == A5)
    story = _header(context, styles, width) + [_Rule(width), Spacer(1, 2 * mm)]
    story += _BUILDERS[form_no](context, styles, width)
    doc.build(story)
    return out.getvalue()
