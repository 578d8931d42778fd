"""One Jinja2 environment (autoescaping, via Starlette) with the filters pages share."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from dichvucong.forms.validation import vn_today
from dichvucong.workflows import texts

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def vn_time(value: datetime | None) -> str:
    """"14:30 25/01/2027" in Vietnam time; "—" when missing."""
    return texts.fmt_moment(value)


def vn_date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.astimezone(texts.VN_OFFSET).date()
    return value.strftime("%d/%m/%Y")


def money(amount: int | None) -> str:
    """200000 -> "200.000 đ" (Vietnamese thousands separator)."""
    if not amount:
        return "Miễn phí"
    return f"{amount:,}".replace(",", ".") + " đ"


def file_size(size: int) -> str:
    """1572864 -> "1,5 MB", 10485760 -> "10 MB": the Vietnamese decimal comma, as the
    citizen pages' ``megabytes`` macro writes a limit."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    text = f"{size / 1024 / 1024:.1f}".removesuffix(".0")
    return text.replace(".", ",") + " MB"


templates.env.filters.update(
    vn_time=vn_time,
    vn_date=vn_date,
    money=money,
    file_size=file_size,
    status_label=texts.status_label,
    action_label=texts.action_label,
    role_label=lambda role: texts.ROLE_LABELS.get(role, role),
    payment_label=lambda status: texts.PAYMENT_LABELS.get(status, status),
)
# Today in Vietnam (YYYY-MM-DD): the latest day a date field marked not_future takes,
# given to the browser's date picker as ``max`` (the server checks it too).
templates.env.globals["vn_today_iso"] = lambda: vn_today().isoformat()


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Any:
    """Renders with what every page needs: the caller, the CSRF token, settings."""
    from dichvucong.web.csrf import csrf_token
    from dichvucong.web.sessions import page_principal

    values = {
        "principal": page_principal(request),
        "csrf_token": csrf_token(request),
        "settings": request.app.state.settings,
    }
    values.update(context or {})
    return templates.TemplateResponse(request, name, values, status_code=status_code)
