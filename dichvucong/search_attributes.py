"""The custom search attributes supervisors query in the Temporal UI.

They are a contract (README queries, dashboards, docker-compose registration):
keep the names. They are never encrypted, so they hold no personal data.
"""

from datetime import datetime

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
OVERDUE = SearchAttributeKey.for_bool("Overdue")
AGENCY_CODE = SearchAttributeKey.for_keyword("AgencyCode")
PROCEDURE_CODE = SearchAttributeKey.for_keyword("ProcedureCode")
CURRENT_STEP = SearchAttributeKey.for_keyword("CurrentStep")
# When the case entered its current CaseStatus: "awaiting payment for more than N days".
STATUS_SINCE = SearchAttributeKey.for_datetime("StatusSince")

ALL_KEYS = (CASE_STATUS, DUE_AT, OVERDUE, AGENCY_CODE, PROCEDURE_CODE, CURRENT_STEP, STATUS_SINCE)

# name -> type as the `temporal` CLI spells it (--search-attribute Name=Type)
CLI_TYPES: dict[str, str] = {
    "CaseStatus": "Keyword",
    "DueAt": "Datetime",
    "Overdue": "Bool",
    "AgencyCode": "Keyword",
    "ProcedureCode": "Keyword",
    "CurrentStep": "Keyword",
    "StatusSince": "Datetime",
}


def at_submission(
    *, agency_code: str, procedure_code: str, submitted_at: datetime
) -> TypedSearchAttributes:
    """What a new case shows from its start, before its first workflow task: the values
    its first transition would upsert (so it upserts none)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(CASE_STATUS, "SUBMITTED"),
            SearchAttributePair(OVERDUE, False),
            SearchAttributePair(AGENCY_CODE, agency_code),
            SearchAttributePair(PROCEDURE_CODE, procedure_code),
            SearchAttributePair(CURRENT_STEP, "reception"),
            SearchAttributePair(STATUS_SINCE, submitted_at),
        ]
    )
