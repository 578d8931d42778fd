"""The officials' "Thông báo" page: the notification rows addressed to the official's
agency and roles (written by the dossier and feedback notifiers' Dispatcher and the
morning digest), newest first, each once, with a link to the case; never another
agency's, never a role the official does not hold."""

from __future__ import annotations

import re
from pathlib import Path

from dichvucong.activities.notify import Dispatcher, OutgoingMessage, recipients_of
from dichvucong.db.engine import Database
from dichvucong.db.models import Notification
from tests.api.portal import COMMUNE, STP, portal
from tests.pages.test_official_pages import desk


def at_risk(db: Database, code: str, agency: str, roles: list[str], seq: int = 4) -> None:
    """As NotifyActivities delivers a case's agency notice (in-app only here)."""
    for recipient in recipients_of("agency", citizen_id=None, agency_code=agency, roles=roles):
        Dispatcher(db).deliver(
            OutgoingMessage(
                code,
                seq,
                recipient,
                "at_risk",
                f"Hồ sơ {code} sắp đến hạn",
                "Hồ sơ phải trả kết quả trước 17:00 25/01/2027.",
                None,
            )  # fmt: skip
        )


def digest(db: Database, agency: str, role: str) -> None:
    """As the morning digest writes it: one row per role, no single case."""
    with db.session() as session:
        session.add(
            Notification(
                dossier_code="DIGEST-20270125",
                seq=0,
                channel="inapp",
                recipient=f"agency:{agency}:{role}",
                kind="at_risk_digest",
                subject="2 hồ sơ sắp đến hạn trả kết quả (25/01/2027)",
                body="Các hồ sơ sau sắp đến hạn trả kết quả:\n- A\n- B",
            )  # fmt: skip
        )
        session.commit()


async def test_officials_see_their_agencys_notices(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        ours, theirs, leaders = "000.00.12.H19-270125-0001", "000.21.21.H19-270125-0002", "L-3"
        at_risk(p.db, ours, STP, ["reception", "leader"])
        at_risk(p.db, theirs, COMMUNE, ["reception", "leader"])
        at_risk(p.db, leaders, STP, ["leader"])
        digest(p.db, STP, "reception")
        reception = await desk(p, "tiepnhan", STP, "reception", "leader")
        commune = await desk(p, "xa", COMMUNE, "reception")
        clerk = await desk(p, "vanthu", STP, "reception")

        page = await reception.http.get("/can-bo/thong-bao")
        assert page.status_code == 200, page.text
        html = page.text
        assert 'href="/can-bo/thong-bao"' in html  # the nav link
        assert f'href="/can-bo/ho-so/{ours}"' in html and theirs not in html
        assert html.count(f'data-code="{ours}"') == 1  # sent to both roles, shown once
        assert f'data-code="{leaders}"' in html
        assert "2 hồ sơ sắp đến hạn trả kết quả (25/01/2027)" in html
        codes = re.findall(r'data-code="([^"]+)"', html)
        assert codes == ["DIGEST-20270125", leaders, ours]  # newest first

        # A reception clerk only: the leaders' notice is not addressed to them.
        clerks = (await clerk.http.get("/can-bo/thong-bao")).text
        assert f'data-code="{ours}"' in clerks and f'data-code="{leaders}"' not in clerks

        other = (await commune.http.get("/can-bo/thong-bao")).text
        assert f'href="/can-bo/ho-so/{theirs}"' in other and ours not in other
        assert "DIGEST-20270125" not in other

        # Nobody signed in: the sign-in page.
        anonymous = await p.http.get("/can-bo/thong-bao", headers={"Accept": "text/html"})
        assert anonymous.status_code in (302, 303, 307)
