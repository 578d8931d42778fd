"""Activities that reach the payment gateway: QUERY (self-healing when no callback
came) and REFUND (refused or rejected dossiers paid online).

The refund carries the workflow's idempotency key, so a worker crash between
"request sent" and "result recorded" never refunds twice: the gateway answers
the retry with the refund it already made.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from dichvucong.activities.contracts import PaymentQuery, PaymentStatus, RefundRequest, RefundResult
from dichvucong.integrations.payment_gateway import GatewayRejected, PaymentGatewayClient


class PaymentActivities:
    def __init__(self, gateway: PaymentGatewayClient) -> None:
        self._gateway = gateway

    @activity.defn(name="query_payment")
    def query_payment(self, query: PaymentQuery) -> PaymentStatus:
        try:
            return self._gateway.query(query.payment_ref)
        except GatewayRejected as exc:
            raise ApplicationError(str(exc), type="GatewayRejected", non_retryable=True) from exc

    @activity.defn(name="request_refund")
    def request_refund(self, request: RefundRequest) -> RefundResult:
        try:
            return self._gateway.refund(
                request.payment_ref, request.amount, request.idempotency_key
            )
        except GatewayRejected as exc:
            raise ApplicationError(str(exc), type="GatewayRejected", non_retryable=True) from exc
