"""Dates that cannot be in the future (a birth, a decision already signed) are capped
in the browser's date picker too; the server refuses them anyway."""

from __future__ import annotations

import re
from pathlib import Path

from dichvucong.forms.validation import vn_today
from tests.api.portal import portal

from .test_citizen_pages import REGISTRATION, page, post


async def test_birth_dates_cannot_be_picked_in_the_future(tmp_path: Path) -> None:
    today = vn_today().isoformat()
    async with portal(tmp_path) as p:
        register = await page(p.http, "/dang-ky")
        assert re.search(rf'name="date_of_birth" type="date"[^>]*max="{today}"', register.text)
        signed_in = await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        assert signed_in.status_code == 303, signed_in.text[:500]
        form = await page(p.http, "/nop-ho-so/ly-lich-tu-phap")
        birth = re.search(r'<input type="date" id="f-ngay_sinh"[^>]*>', form.text)
        assert birth and f'max="{today}"' in birth.group(0)
