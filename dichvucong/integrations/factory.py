"""Builds the adapters from settings: the worker's outside activities and the
notification channels, the API's gateway client.

Settings fields read here (all optional, with the defaults below, so the
embedded development stack works out of the box):

=========================  ==============================================
payment_gateway_url        gateway base URL (default <public_base_url>/_sim/payment)
payment_merchant_code      our merchant code at the gateway ("DVC-DONGNAI")
payment_secret             shared secret of the check field ("dev-payment-secret")
postal_api_url             postal API base URL (default <public_base_url>/_sim/postal)
postal_secret              shared secret of postal messages ("dev-postal-secret")
smtp_host / smtp_port      SMTP server (127.0.0.1:8025, the dev server)
smtp_from                  sender address
smtp_starttls              STARTTLS before sending (False)
smtp_username/_password    SMTP login (none)
sms_sink_file              JSON-lines file of the SMS dev sink (<var_dir>/sms.jsonl)
=========================  ==============================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dichvucong.activities.notify import Channel
from dichvucong.activities.payments import PaymentActivities
from dichvucong.activities.postal import PostalActivities
from dichvucong.db.engine import Database
from dichvucong.integrations.email import DEFAULT_SENDER, EmailChannel
from dichvucong.integrations.payment_gateway import PaymentGatewayClient
from dichvucong.integrations.postal import PostalClient
from dichvucong.integrations.sms import SmsChannel, SmsSink

DEFAULT_PAYMENT_SECRET = "dev-payment-secret"
DEFAULT_POSTAL_SECRET = "dev-postal-secret"
DEFAULT_MERCHANT = "DVC-DONGNAI"


def _get(settings: Any, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None else value


def _base(settings: Any) -> str:
    return str(settings.public_base_url).rstrip("/")


def payment_gateway_url(settings: Any) -> str:
    return str(_get(settings, "payment_gateway_url", f"{_base(settings)}/_sim/payment")).rstrip("/")


def payment_merchant_code(settings: Any) -> str:
    return str(_get(settings, "payment_merchant_code", DEFAULT_MERCHANT))


def payment_secret(settings: Any) -> str:
    return str(_get(settings, "payment_secret", DEFAULT_PAYMENT_SECRET))


def postal_api_url(settings: Any) -> str:
    return str(_get(settings, "postal_api_url", f"{_base(settings)}/_sim/postal")).rstrip("/")


def postal_secret(settings: Any) -> str:
    return str(_get(settings, "postal_secret", DEFAULT_POSTAL_SECRET))


def payment_callback_url(settings: Any) -> str:
    return f"{_base(settings)}/api/v1/payments/callback"


def postal_callback_url(settings: Any) -> str:
    return f"{_base(settings)}/api/v1/postal/callback"


def sms_sink_file(settings: Any) -> Path:
    return Path(_get(settings, "sms_sink_file", Path(settings.var_dir) / "sms.jsonl"))


def build_payment_client(settings: Any) -> PaymentGatewayClient:
    return PaymentGatewayClient(payment_gateway_url(settings), payment_merchant_code(settings),
                                payment_secret(settings))


def build_postal_client(settings: Any) -> PostalClient:
    return PostalClient(postal_api_url(settings), postal_secret(settings))


def build_outside_activities(settings: Any, db: Database) -> list[Callable[..., Any]]:
    payments = PaymentActivities(build_payment_client(settings))
    postal = PostalActivities(build_postal_client(settings), db)
    return [postal.dispatch_result, payments.request_refund, payments.query_payment]


def build_channels(settings: Any, db: Database | None = None) -> list[Channel]:
    """Email (SMTP) and SMS (development sink). Pass the worker's ``db``; without
    one, the channels open their own engine on the read model."""
    db = db or Database(settings.resolved_database_url)
    email = EmailChannel(
        db, host=str(_get(settings, "smtp_host", "127.0.0.1")),
        port=int(_get(settings, "smtp_port", 8025)),
        sender=str(_get(settings, "smtp_from", DEFAULT_SENDER)),
        public_base_url=_base(settings),
        starttls=bool(_get(settings, "smtp_starttls", False)),
        username=_get(settings, "smtp_username", None),
        password=_get(settings, "smtp_password", None),
    )
    sms = SmsChannel(db, SmsSink(sms_sink_file(settings)), public_base_url=_base(settings))
    return [email, sms]
