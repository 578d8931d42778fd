"""The custom search attributes supervisors query in the Temporal UI.

They are a contract (README queries, dashboards, docker-compose registration):
keep the names. They are never encrypted, so they hold no personal data.
"""

from temporalio.common import SearchAttributeKey

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
