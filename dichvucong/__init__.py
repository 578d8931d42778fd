"""dichvucong: case management for a Vietnamese provincial online public service portal."""

TIMEZONE_NAME = "Asia/Ho_Chi_Minh"
