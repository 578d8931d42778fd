"""The forms an agency issues (Circular 01/2018/TT-VPCP annex, as adapted):
01 receipt and appointment slip, 02 supplement request, 03 refusal, 04 apology
with a new appointment, 05 processing control slip. Built from the read model
as printable HTML (templates/forms) and PDF (reportlab)."""

from dichvucong.official_forms.context import (
    FORM_NUMBERS,
    TITLES,
    FormNotAvailable,
    FormSources,
    build_context,
    load_sources,
    lookup_url,
)
from dichvucong.official_forms.pdf import qr_png, render_pdf

__all__ = [
    "FORM_NUMBERS",
    "TITLES",
    "FormNotAvailable",
    "FormSources",
    "build_context",
    "load_sources",
    "lookup_url",
    "qr_png",
    "render_pdf",
]
