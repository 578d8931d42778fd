"""Decision 766's online payment rate: paid online over the dossiers received with a fee."""

from __future__ import annotations

from typing import Any

from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.stats import compute_statistics
from dichvucong.stats.periods import quarter_period
from tests.stats.known_data import NOW, A, vn

RECEIVED = vn(2027, 4, 5, 9, 0)


def _dossier(code: str, **values: Any) -> Dossier:
    values.setdefault("fee_amount", 100_000)
    return Dossier(code=code, agency_code=A, procedure_code="ly-lich-tu-phap",
                   submitted_at=RECEIVED, received_at=RECEIVED, **values)  # fmt: skip


def test_every_dossier_with_a_fee_is_in_the_denominator(db: Database) -> None:
    with db.session() as session:
        session.add_all([
            _dossier("P-1", status="PROCESSING", payment_status="paid", payment_method="online",
                     paid_at=RECEIVED),
            _dossier("P-2", status="PROCESSING", payment_status="paid", payment_method="counter",
                     paid_at=RECEIVED),
            _dossier("P-3", status="WITHDRAWN", payment_status="expired"),  # never paid
            _dossier("P-4", status="PROCESSING", payment_status="none"),  # paid outside us
            _dossier("P-5", status="PROCESSING", payment_status="none", fee_amount=0),  # free
        ])  # fmt: skip
        session.commit()
    stats = compute_statistics(db, quarter_period(2027, 2), now=NOW)
    a = stats.by_agency[A]
    assert (a.with_fee, a.with_fee_paid_online) == (4, 1)
    assert a.online_payment_rate == 1 / 4
    assert (a.paid, a.paid_online) == (2, 1)  # the payments of the period, as before
