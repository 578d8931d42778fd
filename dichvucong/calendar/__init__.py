"""Working-day calendar: due moments in working days and office hours (Vietnam)."""

from dichvucong.calendar.announced import AnnouncedChange, CalendarDataError
from dichvucong.calendar.work_calendar import VN_TZ, WorkCalendar

__all__ = ["VN_TZ", "AnnouncedChange", "CalendarDataError", "WorkCalendar"]
