"""The changes made to DossierWorkflow while cases were running: ``workflow.patched`` ids.

A case started before a change replays as it ran: ``workflow.patched(id)`` is False for
it, True for a case that reached the change while running (a marker in its history).

A new case is started with every id listed in its input (``DossierInput.patches``) and
runs today's code without asking ``workflow.patched``: no marker event, and no upsert
of ``TemporalChangeVersion`` (the SDK adds one per patch id a run meets, one more
visibility write on the server per case).

Adding a change: its id goes here and into ``KNOWN`` in the same commit as the
``patched`` call, and workers are upgraded before the API starts listing it (a worker
that does not know an id a case lists fails that case's workflow task until a worker
that knows it takes over; see ``DossierWorkflow.run``).
"""

NATIONAL_SYNC = "national-sync-v1"
# The read-model write and the notice as local activities (short, idempotent on
# (case, seq): no server round trip, no activity task, the input not kept in history).
LOCAL_RECORD = "local-record-v1"
RECEPTION_SUPPLEMENT = "reception-supplement-v1"
DISPATCH_REJECTED = "dispatch-rejected-v1"
REFUND_REJECTED = "refund-rejected-v1"
QUERY_BEFORE_EXPIRY = "query-before-expiry-v1"
# Search attributes are upserted only when one of them changed (each upsert is a
# visibility write); a case waits as SUBMITTED since its submission moment.
QUIET_UPSERTS = "quiet-upserts-v1"
# One timer for the earliest deadline, restarted only when that moment changes.
STEADY_ALARM = "steady-alarm-v1"
# Deadlines that do not depend on each other are planned at once (payment reminder and
# expiry; the statutory limit and the first step's budget).
PARALLEL_PLANS = "parallel-plans-v1"
# At most one local activity in flight (supersedes the gathering of parallel-plans-v1 and
# of the read-model write with the notice). With two, a live run may be handed the
# second result in the next workflow task's activation, together with a background
# activity's completion, while replay hands both over at once: the case's coroutines
# interleave differently and the next activity gets another sequence number, a
# nondeterminism error after the worker restarts (found by the worker-kill drill; the
# SDK resolves local activities in completion order live, sequence order on replay:
# temporalio/sdk-python#1578).
SERIAL_LOCALS = "serial-locals-v1"
# Refusals added to decisions a signal (or an Update, rechecked by the main loop) could
# make before: an apology whose new date is already past (it used up the one reset for a
# date the case was overdue at again at once), a redispatch whose address is blank (it
# overwrote the stored address with spaces). Update validators refuse them for every
# case: their refusals leave no history.
APOLOGY_AHEAD = "apology-ahead-v1"
BLANK_ADDRESS = "blank-address-v1"
# An online payment the gateway took for a case already paid at the counter is refunded
# (before, only recorded as a payment_mismatch for the accountant).
DOUBLE_PAYMENT_REFUND = "double-payment-refund-v1"
# A payment callback still in the inbox when the case closed (accepted by the route,
# which saw the case open) starts the LateRefundWorkflow; before, it was dropped.
CLOSING_PAYMENT_REFUND = "closing-payment-refund-v1"

KNOWN: tuple[str, ...] = (
    NATIONAL_SYNC,
    LOCAL_RECORD,
    RECEPTION_SUPPLEMENT,
    DISPATCH_REJECTED,
    REFUND_REJECTED,
    QUERY_BEFORE_EXPIRY,
    QUIET_UPSERTS,
    STEADY_ALARM,
    PARALLEL_PLANS,
    SERIAL_LOCALS,
    APOLOGY_AHEAD,
    BLANK_ADDRESS,
    DOUBLE_PAYMENT_REFUND,
    CLOSING_PAYMENT_REFUND,
)
