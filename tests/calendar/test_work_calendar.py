"""WorkCalendar with exact dates (Labour Code 2019 Art. 111–112 and announced swaps)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from dichvucong.calendar import VN_TZ, WorkCalendar


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN_TZ)


def days(first: str, last: str) -> list[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


# ---- Tết -----------------------------------------------------------------


def test_tet_2024_feb_8_to_14_off(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2024, 2, 7))
    assert not any(cal.is_working_day(d) for d in days("2024-02-08", "2024-02-14"))
    assert cal.is_working_day(date(2024, 2, 15))


def test_tet_2025_jan_27_to_feb_1_off(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2025, 1, 24))
    assert not any(cal.is_working_day(d) for d in days("2025-01-25", "2025-02-02"))
    assert cal.is_working_day(date(2025, 2, 3))


def test_tet_2026_dong_nai_stop_of_reception(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2026, 2, 13))
    assert not any(cal.is_working_day(d) for d in days("2026-02-14", "2026-02-22"))
    assert cal.is_working_day(date(2026, 2, 23))
    assert "ngưng tiếp nhận" in (cal.describe(date(2026, 2, 14)) or "")


def test_due_over_tet_2025_is_the_contract_example(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2025, 1, 24, 10), 1) == vn(2025, 2, 3, 10)


def test_due_over_tet_2026(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2026, 2, 13, 9), 1) == vn(2026, 2, 23, 9)
    assert cal.add_working_days(vn(2026, 2, 12, 15), 3) == vn(2026, 2, 24, 15)


def test_due_over_tet_2024(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2024, 2, 7, 8), 1) == vn(2024, 2, 15, 8)


# ---- 30/4 – 1/5 swaps ------------------------------------------------------


def test_2024_swap_monday_29_april_off_saturday_4_may_worked(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2024, 4, 29))
    assert not cal.is_working_day(date(2024, 4, 30))
    assert not cal.is_working_day(date(2024, 5, 1))
    assert cal.is_working_day(date(2024, 5, 4))
    assert cal.add_working_days(vn(2024, 5, 3, 10), 1) == vn(2024, 5, 4, 10)


def test_2025_swap_friday_2_may_off_saturday_26_april_worked(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2025, 4, 26))
    assert not any(cal.is_working_day(d) for d in days("2025-04-30", "2025-05-04"))
    assert cal.add_working_days(vn(2025, 4, 29, 10), 1) == vn(2025, 5, 5, 10)


# ---- 2/9 -----------------------------------------------------------------


def test_national_day_2024_sept_2_and_3(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2024, 9, 2))
    assert not cal.is_working_day(date(2024, 9, 3))
    assert cal.is_working_day(date(2024, 9, 4))


def test_national_day_2025_sept_1_and_2(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2025, 9, 1))
    assert not cal.is_working_day(date(2025, 9, 2))
    assert cal.is_working_day(date(2025, 9, 3))


def test_national_day_2026_with_swap(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2026, 8, 22))
    assert not any(cal.is_working_day(d) for d in days("2026-08-29", "2026-09-02"))
    assert cal.is_working_day(date(2026, 9, 3))
    assert cal.add_working_days(vn(2026, 8, 28, 10), 1) == vn(2026, 9, 3, 10)


# ---- New Year 2026 -----------------------------------------------------------


def test_new_year_2026_friday_2_off_saturday_10_worked(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2026, 1, 1))
    assert not cal.is_working_day(date(2026, 1, 2))
    assert cal.is_working_day(date(2026, 1, 10))
    assert not cal.is_working_day(date(2026, 1, 17))
    assert cal.add_working_days(vn(2025, 12, 31, 16), 1) == vn(2026, 1, 5, 16)
    assert cal.add_working_days(vn(2026, 1, 9, 16), 1) == vn(2026, 1, 10, 16)


def test_describe_names_the_reason(cal: WorkCalendar) -> None:
    assert "10/01/2026" in (cal.describe(date(2026, 1, 2)) or "")
    assert "Tết Nguyên Đán" in (cal.describe(date(2025, 1, 29)) or "")
    assert cal.describe(date(2025, 3, 4)) is None  # ordinary Tuesday
    assert cal.describe(date(2025, 3, 8)) is None  # ordinary Saturday


# ---- reception moment ------------------------------------------------------


def test_inside_office_hours_is_unchanged(cal: WorkCalendar) -> None:
    assert cal.next_working_moment(vn(2025, 3, 4, 10, 15)) == vn(2025, 3, 4, 10, 15)


def test_after_hours_submission_counts_from_next_morning(cal: WorkCalendar) -> None:
    assert cal.next_working_moment(vn(2025, 3, 4, 17)) == vn(2025, 3, 5, 7)
    assert cal.next_working_moment(vn(2025, 3, 4, 22, 30)) == vn(2025, 3, 5, 7)
    assert cal.next_working_moment(vn(2025, 3, 5, 5)) == vn(2025, 3, 5, 7)
    assert cal.add_working_days(vn(2025, 3, 4, 21), 2) == vn(2025, 3, 7, 7)


def test_friday_evening_submission_counts_from_monday(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2025, 3, 7, 18), 1) == vn(2025, 3, 11, 7)


def test_lunch_break_submission_counts_from_1330(cal: WorkCalendar) -> None:
    assert cal.next_working_moment(vn(2025, 3, 4, 11, 30)) == vn(2025, 3, 4, 13, 30)
    assert cal.next_working_moment(vn(2025, 3, 4, 12, 45)) == vn(2025, 3, 4, 13, 30)
    assert cal.add_working_days(vn(2025, 3, 4, 12), 1) == vn(2025, 3, 5, 13, 30)


def test_holiday_submission_counts_from_next_working_day(cal: WorkCalendar) -> None:
    assert cal.next_working_moment(vn(2025, 1, 29, 10)) == vn(2025, 2, 3, 7)
    assert cal.add_working_days(vn(2024, 9, 2, 10), 1) == vn(2024, 9, 5, 7)


def test_zero_days_is_the_next_working_moment(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2025, 3, 8, 10), 0) == vn(2025, 3, 10, 7)


def test_negative_days_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(vn(2025, 3, 4, 10), -1)


def test_naive_datetime_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="naive datetime: give a timezone"):
        cal.add_working_days(datetime(2025, 3, 4, 10), 1)
    with pytest.raises(ValueError, match="naive datetime"):
        cal.add_working_hours(datetime(2025, 3, 4, 10), 1)


def test_other_zone_is_converted_and_result_is_vietnam_time(cal: WorkCalendar) -> None:
    # 03:00 UTC = 10:00 in Hanoi.
    due = cal.add_working_days(datetime(2025, 1, 24, 3, tzinfo=UTC), 1)
    assert due == vn(2025, 2, 3, 10)
    assert due.utcoffset() == timedelta(hours=7)
    assert due.isoformat(timespec="minutes") == "2025-02-03T10:00+07:00"


# ---- working hours -----------------------------------------------------------


def test_hours_across_lunch(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(vn(2025, 3, 4, 10), 2) == vn(2025, 3, 4, 14)
    assert cal.add_working_hours(vn(2025, 3, 4, 11), 0.5) == vn(2025, 3, 4, 11, 30)
    assert cal.add_working_hours(vn(2025, 3, 4, 11), 0.75) == vn(2025, 3, 4, 13, 45)


def test_eight_hours_from_monday_morning_ends_monday_evening(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(vn(2025, 3, 3, 7), 8) == vn(2025, 3, 3, 17)


def test_hours_across_a_weekend(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(vn(2025, 3, 7, 16), 2) == vn(2025, 3, 10, 8)
    assert cal.add_working_hours(vn(2025, 3, 8, 9), 1.5) == vn(2025, 3, 10, 8, 30)


def test_many_hours_span_days_and_tet(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(vn(2025, 3, 3, 7), 24) == vn(2025, 3, 5, 17)
    assert cal.add_working_hours(vn(2025, 3, 3, 7), 24.5) == vn(2025, 3, 6, 7, 30)
    assert cal.add_working_hours(vn(2025, 1, 24, 16), 8) == vn(2025, 2, 3, 16)


def test_zero_and_negative_hours(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(vn(2025, 3, 4, 18), 0) == vn(2025, 3, 5, 7)
    with pytest.raises(ValueError):
        cal.add_working_hours(vn(2025, 3, 4, 10), -1)


# ---- counting ----------------------------------------------------------------


def test_working_days_between_examples(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2025, 3, 3), date(2025, 3, 3)) == 0
    assert cal.working_days_between(date(2025, 3, 3), date(2025, 3, 10)) == 5
    assert cal.working_days_between(date(2025, 1, 24), date(2025, 2, 3)) == 1
    assert cal.working_days_between(date(2025, 2, 3), date(2025, 1, 24)) == -1
    # 2026-01-01 Thu, 02 Fri off, 10 Sat worked: 5–9 and 10 → 6.
    assert cal.working_days_between(date(2025, 12, 31), date(2026, 1, 10)) == 6


def test_working_days_between_matches_day_by_day_over_years(cal: WorkCalendar) -> None:
    a, b = date(2023, 6, 15), date(2026, 12, 31)
    slow = sum(cal.is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))
    assert cal.working_days_between(a, b) == slow


def test_subtract_working_days_across_weekend(cal: WorkCalendar) -> None:
    assert cal.subtract_working_days(vn(2025, 3, 10, 9), 1) == vn(2025, 3, 7, 9)
    assert cal.subtract_working_days(vn(2025, 3, 11, 15), 2) == vn(2025, 3, 7, 15)


def test_subtract_working_days_from_a_day_off_starts_at_previous_working_day(
    cal: WorkCalendar,
) -> None:
    assert cal.subtract_working_days(vn(2025, 3, 9, 9), 0) == vn(2025, 3, 7, 9)
    assert cal.subtract_working_days(vn(2025, 3, 9, 9), 1) == vn(2025, 3, 6, 9)
    assert cal.subtract_working_days(vn(2025, 2, 3, 10), 1) == vn(2025, 1, 24, 10)


def test_working_days_elapsed(cal: WorkCalendar) -> None:
    assert cal.working_days_elapsed(vn(2025, 3, 3, 7), vn(2025, 3, 3, 17)) == 1.0
    assert cal.working_days_elapsed(vn(2025, 3, 3, 7), vn(2025, 3, 3, 11)) == 0.5
    # Lunch break and the weekend do not count.
    assert cal.working_days_elapsed(vn(2025, 3, 7, 11, 30), vn(2025, 3, 10, 7)) == pytest.approx(
        3.5 / 8
    )
    assert cal.working_days_elapsed(vn(2025, 1, 24, 10), vn(2025, 2, 3, 10)) == 1.0
    assert cal.working_days_elapsed(vn(2025, 2, 3, 10), vn(2025, 1, 24, 10)) == -1.0


# ---- configuration ---------------------------------------------------------------


def test_constructor_overrides() -> None:
    local = WorkCalendar(extra_days_off=[date(2025, 3, 4)], extra_working_days=[date(2025, 3, 8)])
    assert not local.is_working_day(date(2025, 3, 4))
    assert local.is_working_day(date(2025, 3, 8))
    assert local.add_working_days(vn(2025, 3, 3, 10), 1) == vn(2025, 3, 5, 10)
    # Overrides also beat the packaged data: work on Friday 2 Jan 2026.
    assert WorkCalendar(extra_working_days=[date(2026, 1, 2)]).is_working_day(date(2026, 1, 2))


def test_same_day_off_and_working_refused() -> None:
    with pytest.raises(ValueError, match="2025-03-04"):
        WorkCalendar(extra_days_off=[date(2025, 3, 4)], extra_working_days=[date(2025, 3, 4)])


def test_custom_office_hours() -> None:
    local = WorkCalendar(office_hours=[(time(8, 0), time(12, 0)), (time(13, 0), time(17, 0))])
    assert local.next_working_moment(vn(2025, 3, 4, 12, 30)) == vn(2025, 3, 4, 13)
    assert local.add_working_hours(vn(2025, 3, 4, 8), 8) == vn(2025, 3, 4, 17)
    with pytest.raises(ValueError, match="overlaps"):
        WorkCalendar(office_hours=[(time(8, 0), time(12, 0)), (time(11, 0), time(17, 0))])


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2025, 4, 7), "Ngày Giỗ Tổ Hùng Vương"),  # 10/3 Ất Tỵ, a Monday
        (date(2026, 4, 27), "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"),  # 10/3 Bính Ngọ is a Sunday
        (date(2027, 4, 16), "Ngày Giỗ Tổ Hùng Vương"),  # 10/3 Đinh Mùi, a Friday
        (date(2027, 5, 3), "Ngày Quốc tế Lao động (nghỉ bù)"),  # 1/5/2027 is a Saturday
        (date(2023, 9, 4), "Quốc khánh (nghỉ bù)"),  # 2/9/2023 is a Saturday
    ],
)
def test_lunar_and_substituted_days_off(cal: WorkCalendar, day: date, reason: str) -> None:
    assert not cal.is_working_day(day)
    assert cal.describe(day) == reason


def test_a_working_moment_is_in_office_hours_of_a_working_day(cal: WorkCalendar) -> None:
    def at(day: str, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(date.fromisoformat(day), time(hh, mm), VN_TZ)

    assert cal.is_working_moment(at("2027-01-29", 7))
    assert cal.is_working_moment(at("2027-01-29", 17))  # "by 17:00" is an appointment
    assert not cal.is_working_moment(at("2027-01-29", 12))
    assert not cal.is_working_moment(at("2027-01-29", 17, 1))
    assert not cal.is_working_moment(at("2027-02-08", 9))  # Tết
    assert cal.is_working_moment(at("2027-02-11", 9))


def test_fractional_working_days_count_in_office_hours(cal: WorkCalendar) -> None:
    start = datetime(2025, 1, 24, 9, 0, tzinfo=VN_TZ)  # the Friday before Tết Ất Tỵ
    assert cal.add_working_days_fractional(start, 0.5) == start.replace(hour=15)
    assert cal.add_working_days_fractional(start, 1.5) == datetime(2025, 2, 3, 15, 0, tzinfo=VN_TZ)
    assert cal.add_working_days_fractional(start, 2) == cal.add_working_days(start, 2)
    with pytest.raises(ValueError):
        cal.add_working_days_fractional(start, float("nan"))
