"""Problem bodies list each field's error in Vietnamese: pydantic's English texts are
replaced by the catalog's, our validators' Vietnamese texts are kept."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from dichvucong.api.problems import FIELD_ERROR, DomainError, field_errors
from dichvucong.dossiers.decisions import build_input
from dichvucong.workflows.messages import Actor


class Sample(BaseModel):
    items: list[str] = Field(max_length=2)
    amount: int = Field(ge=0)
    name: str

    @field_validator("name")
    @classmethod
    def _not_x(cls, value: str) -> str:
        if value == "x":
            raise ValueError("Tên không được là «x».")
        return value


def _errors(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        Sample.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in field_errors(refused.value.errors())}


def test_pydantic_texts_become_vietnamese() -> None:
    errors = _errors({"items": ["a", "b", "c"], "amount": -1})
    assert errors == {
        "items": "Quá nhiều (tối đa 2).",
        "amount": "Phải lớn hơn hoặc bằng 0.",
        "name": "Thiếu thông tin bắt buộc.",
    }
    assert _errors({"items": "a", "amount": "mười", "name": 5}) == {
        "items": "Phải là một danh sách.",
        "amount": "Phải là một số nguyên.",
        "name": "Phải là một chuỗi ký tự.",
    }


def test_our_own_texts_are_kept() -> None:
    assert _errors({"items": [], "amount": 1, "name": "x"}) == {"name": "Tên không được là «x»."}
    assert field_errors([{"type": "unknown_kind", "loc": ("a",), "msg": "bad"}]) == [
        {"loc": ["a"], "msg": FIELD_ERROR}
    ]


def test_a_decision_body_is_refused_in_vietnamese() -> None:
    with pytest.raises(DomainError) as refused:
        build_input("reject", {"reasons": ["lý do"] * 21}, Actor("lanhdao", "leader"))
    assert refused.value.extra["errors"] == [{"loc": ["reasons"], "msg": "Quá nhiều (tối đa 20)."}]
