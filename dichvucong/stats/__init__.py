"""Service-quality statistics (Decision 766/QĐ-TTg) computed in SQL."""

from dichvucong.stats.indicators import (
    RATE_NAMES,
    Indicators,
    Statistics,
    compute_statistics,
    province_rates,
    province_statistics,
    scoped_statistics,
)
from dichvucong.stats.periods import (
    Period,
    current_quarter,
    date_range,
    quarter_period,
    report_period,
    requested_period,
    year_period,
    year_to_date,
)

__all__ = [
    "RATE_NAMES",
    "Indicators",
    "Period",
    "Statistics",
    "compute_statistics",
    "current_quarter",
    "date_range",
    "requested_period",
    "province_rates",
    "province_statistics",
    "quarter_period",
    "report_period",
    "scoped_statistics",
    "year_period",
    "year_to_date",
]
