"""Which action may be taken by which role at which status and step.

Pure functions over plain values: the workflow's validators and the API's
pre-checks (403/409 before reaching Temporal) use the same table.
"""

from __future__ import annotations

from dichvucong.workflows.messages import STEP_ISSUE, CaseStatus

OFFICIAL_ACTIONS = (
    "accept",
    "refuse",
    "request_supplement",
    "approve",
    "send_back",
    "reject",
    "apologize",
    "record_counter_payment",
    "issue_result",
    "hand_over",
    "redispatch",
)
CITIZEN_ACTIONS = ("supplement", "withdraw", "pay")


def allowed_actions(
    *,
    status: str,
    step: str | None,
    step_role: str | None,
    step_index: int,
    apology_open: bool,
    last_step: bool = False,
    delivery: str,
    paid: bool,
    reception_supplement_asked: bool = False,
    supplement_request_open: bool = True,
) -> dict[str, list[str]]:
    """role -> actions allowed now. ``apology_open``: at risk or overdue and no apology yet.

    ``reception_supplement_asked`` (reception asks once) and ``supplement_request_open``
    (processing asks within its days of reception) leave out a supplement request the
    workflow would refuse: what the pages offer. The workflow's own check passes neither
    and refuses such a request with its specific reason."""
    allowed: dict[str, list[str]] = {}

    def grant(role: str, *actions: str) -> None:
        allowed.setdefault(role, []).extend(actions)

    if status == CaseStatus.SUBMITTED:
        grant("reception", "accept", "refuse")
        if not reception_supplement_asked:
            grant("reception", "request_supplement")
        grant("citizen", "withdraw")
    elif status == CaseStatus.SUPPLEMENT_REQUESTED:
        grant("citizen", "supplement", "withdraw")
    elif status == CaseStatus.PROCESSING:
        if step == STEP_ISSUE:
            grant("issuer", "issue_result")
        elif step_role == "issuer" and last_step:
            # The issuing desk's step ends by issuing the result, not by an approval.
            grant("issuer", "issue_result", *(["send_back"] if step_index > 0 else []))
        elif step_role:
            actions = ["approve", "reject"]
            if supplement_request_open:
                actions.append("request_supplement")
            if step_index > 0:
                actions.append("send_back")
            grant(step_role, *actions)
        if apology_open:
            grant("leader", "apologize")
    elif status == CaseStatus.AWAITING_PAYMENT:
        if not paid:
            grant("reception", "record_counter_payment")
            grant("citizen", "pay")
    elif status == CaseStatus.RESULT_READY:
        grant("reception", "hand_over")
        grant("issuer", "hand_over")
        if delivery == "postal":
            grant("issuer", "redispatch")
    return {role: sorted(set(actions)) for role, actions in allowed.items()}


def roles_for(action: str, allowed: dict[str, list[str]]) -> list[str]:
    return [role for role, actions in allowed.items() if action in actions]
