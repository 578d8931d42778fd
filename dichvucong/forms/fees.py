"""Fee computation from a procedure's fee rule and the (cleaned) form values.

Amounts are whole VND. Each ``FeeLine`` is one printable line of the receipt;
``Fee.amount`` is their sum.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from dichvucong.catalog.models import (
    FeeReduction,
    FixedFee,
    FreeFee,
    PerCopyFee,
    PerPageFee,
    Procedure,
    format_vnd,
)


class FeeLine(BaseModel):
    label: str
    amount: int


class Fee(BaseModel):
    amount: int
    lines: list[FeeLine]

    @property
    def is_free(self) -> bool:
        return self.amount == 0

    def line_dicts(self) -> list[dict[str, Any]]:
        """The lines as plain dicts (``DossierInput.fee_lines``)."""
        return [line.model_dump() for line in self.lines]


def _count(form: dict[str, Any], key: str | None, default: int = 1) -> int:
    """A positive whole count read from the form; ``default`` when absent or unusable
    (validate the form first: its min/max are the real guard)."""
    if key is None:
        return default
    value = form.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    if math.isnan(number) or math.isinf(number) or number < 1 or not number.is_integer():
        return default  # never rounded: validation refuses 3.5 copies
    return int(number)


def _reduction(reductions: list[FeeReduction], form: dict[str, Any]) -> FeeReduction | None:
    for r in reductions:
        value = form.get(r.field)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value is not None and str(value) in r.values:
            return r
    return None


def _fee(lines: list[FeeLine]) -> Fee:
    return Fee(amount=sum(line.amount for line in lines), lines=lines)


def compute_fee(procedure: Procedure, form: dict[str, Any]) -> Fee:
    rule = procedure.fee
    if isinstance(rule, FreeFee):
        return Fee(amount=0, lines=[])

    reduction = _reduction(rule.reductions, form)
    if reduction is not None and reduction.exempt:
        return _fee([FeeLine(label=f"{rule.label}: {reduction.label}", amount=0)])

    if isinstance(rule, FixedFee):
        amount = reduction.amount if reduction and reduction.amount is not None else rule.amount
        label = f"{rule.label} ({reduction.label})" if reduction else rule.label
        return _fee([FeeLine(label=label, amount=amount)])

    if isinstance(rule, PerCopyFee):
        copies = _count(form, rule.copies_field)
        base = reduction.amount if reduction and reduction.amount is not None else rule.base_amount
        included = min(copies, rule.included_copies)
        label = f"{rule.label} ({included} bản)"
        if reduction:
            label += f" — {reduction.label}"
        lines = [FeeLine(label=label, amount=base)]
        extra = copies - rule.included_copies
        if extra > 0:
            lines.append(FeeLine(
                label=(f"Từ bản thứ {rule.included_copies + 1}: {extra} bản × "
                       f"{format_vnd(rule.extra_copy_amount)}"),
                amount=extra * rule.extra_copy_amount,
            ))
        return _fee(lines)

    if isinstance(rule, PerPageFee):
        pages = _count(form, rule.pages_field)
        copies = _count(form, rule.copies_field)
        first = min(pages, rule.first_pages)
        per_copy = first * rule.first_page_amount + (pages - first) * rule.next_page_amount
        capped = rule.max_per_copy is not None and per_copy > rule.max_per_copy
        if capped:
            per_copy = rule.max_per_copy  # type: ignore[assignment]
        label = f"{rule.label}: {copies} bản × {pages} trang"
        label += f" (tối đa {format_vnd(per_copy)}/bản)" if capped else \
            f" ({format_vnd(per_copy)}/bản)"
        return _fee([FeeLine(label=label, amount=copies * per_copy)])

    raise TypeError(f"unknown fee rule {type(rule).__name__}")  # pragma: no cover
