"""Who is calling: a citizen or an official, as the API and pages see them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    kind: str  # citizen | official
    id: int
    name: str
    agency_code: str | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_citizen(self) -> bool:
        return self.kind == "citizen"

    @property
    def is_official(self) -> bool:
        return self.kind == "official"

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)
