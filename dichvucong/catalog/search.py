"""Vietnamese full-text matching that works with or without diacritics.

"lý lịch", "ly lich" and "LY LICH" all match "Lý lịch tư pháp": both sides are
folded (NFD, combining marks removed, đ -> d, lower case) and every query word
must start some word of the procedure's name, field, sector or national code.

Filters on a sector or field name compare :func:`name_key`: the same name typed
in another Unicode form (NFD from some keyboards and browsers) or case matches,
but diacritics still count ("Tư pháp" is not "Tu phap").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from dichvucong.catalog.models import Procedure

_WORD = re.compile(r"\w+(?:\.\w+)*")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


def name_key(text: str) -> str:
    """``text`` for comparing names: NFC, case-folded, spaces collapsed."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.split())


def same_name(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _haystack(procedure: Procedure) -> list[str]:
    parts = [procedure.name, procedure.field, procedure.sector, procedure.national_code or ""]
    return words(" ".join(parts))


def matches(procedure: Procedure, query_words: Iterable[str]) -> bool:
    hay = _haystack(procedure)
    return all(any(w.startswith(q) for w in hay) for q in query_words)


def search_procedures(procedures: Iterable[Procedure], q: str) -> list[Procedure]:
    """Procedures matching every word of ``q``; those matching in the name first."""
    query_words = words(q)
    if not query_words:
        return list(procedures)
    found = [p for p in procedures if matches(p, query_words)]

    def in_name(p: Procedure) -> bool:
        name = words(p.name)
        return all(any(w.startswith(q) for w in name) for q in query_words)

    return sorted(found, key=lambda p: not in_name(p))  # stable: keeps catalog order
