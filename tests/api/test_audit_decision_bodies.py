"""Decision bodies the workflow cannot compare or would store wrongly, refused or
normalised by the API before Temporal: a moment without an offset, a blank address."""

from __future__ import annotations

from pathlib import Path

import pytest

from dichvucong.api.problems import DomainError
from dichvucong.calendar import WorkCalendar
from dichvucong.dossiers.decisions import build_input
from dichvucong.workflows import texts
from dichvucong.workflows.messages import Actor, RedispatchInput

from .portal import STP, portal
from .test_official_actions import _submitted

ISSUER = Actor("vanthu.stp", "issuer")


def test_a_new_due_without_offset_is_a_vietnamese_422() -> None:
    with pytest.raises(DomainError) as refused:
        build_input(
            "apologize",
            {"new_due": "2027-01-29T16:00:00", "reason": "Chờ xác minh"},
            Actor("lanhdao.stp", "leader"),
        )
    assert (refused.value.status, refused.value.code) == (422, "invalid_body")
    assert refused.value.extra["errors"] == [
        {"loc": ["new_due"], "msg": texts.refusal("timezone_required")}
    ]


@pytest.mark.parametrize(
    ("given", "sent"),
    [("   ", None), ("", None), (None, None), ("  12 Lê Lợi, Biên Hòa ", "12 Lê Lợi, Biên Hòa")],
)
def test_a_blank_redispatch_address_is_sent_as_none(given: str | None, sent: str | None) -> None:
    assert build_input("redispatch", {"address": given}, ISSUER) == RedispatchInput(
        address=sent, actor=ISSUER
    )


async def test_the_api_answers_a_naive_new_due_with_a_problem_body(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        _, _, code = await _submitted(p)
        leader = await p.login(p.official("lanhdao", STP, "leader"))
        answer = await p.act(
            leader, code, "apologize", {"new_due": "2027-01-29T16:00:00", "reason": "Chậm"}
        )
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == "invalid_body"
        assert [e["msg"] for e in problem["errors"]] == [texts.refusal("timezone_required")]
        assert "offset-naive" not in answer.text


@pytest.mark.parametrize(
    "new_due",
    [
        "2027-02-08T09:00:00+07:00",  # Tết Đinh Mùi: the office is closed
        "2027-01-31T09:00:00+07:00",  # a Sunday
        "2027-01-29T12:00:00+07:00",  # the lunch break
        "2027-01-29T19:00:00+07:00",  # after hours
        "2027-01-29T05:00:00+00:00",  # 12:00 in Vietnam, given in UTC
    ],
)
def test_an_apology_date_off_hours_is_refused(new_due: str) -> None:
    with pytest.raises(DomainError) as refused:
        build_input(
            "apologize",
            {"new_due": new_due, "reason": "Chờ xác minh"},
            Actor("lanhdao.stp", "leader"),
            calendar=WorkCalendar(),
        )
    assert (refused.value.status, refused.value.code) == (422, "apology_off_hours")
    assert "giờ làm việc" in refused.value.detail


@pytest.mark.parametrize(
    "new_due",
    ["2027-02-11T09:00:00+07:00", "2027-01-29T17:00:00+07:00", "2027-01-29T02:00:00+00:00"],
)
def test_an_apology_date_in_office_hours_is_taken(new_due: str) -> None:
    payload = build_input(
        "apologize",
        {"new_due": new_due, "reason": "Chờ xác minh"},
        Actor("lanhdao.stp", "leader"),
        calendar=WorkCalendar(),
    )
    assert payload.new_due.isoformat().startswith(new_due[:13])


async def test_the_api_refuses_an_apology_date_on_a_holiday(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        _, _, code = await _submitted(p)
        leader = await p.login(p.official("lanhdao", STP, "leader"))
        answer = await p.act(
            leader, code, "apologize", {"new_due": "2027-02-08T09:00:00+07:00", "reason": "Chậm"}
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "apology_off_hours"
        assert "08/02/2027" in answer.json()["detail"]
