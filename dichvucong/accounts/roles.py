"""Roles an official can hold."""

from enum import StrEnum


class Role(StrEnum):
    RECEPTION = "reception"
    SPECIALIST = "specialist"
    LEADER = "leader"
    ISSUER = "issuer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Supervisors of this agency oversee the whole province (Đồng Nai's provincial office
# role is held by the Department of Justice in the demo catalog).
PROVINCE_OFFICE_CODE = "000.00.12.H19"
