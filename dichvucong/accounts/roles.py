"""Roles an official can hold."""

from enum import StrEnum


class Role(StrEnum):
    RECEPTION = "reception"
    SPECIALIST = "specialist"
    LEADER = "leader"
    ISSUER = "issuer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
