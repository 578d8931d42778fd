"""Builds the adapters from settings: the worker's outside activities and the
notification channels, the API's gateway client. Where a URL setting is empty the
embedded development stack's simulator (``<public_base_url>/_sim/...``) stands in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dichvucong.activities.notify import Channel
from dichvucong.activities.payments import PaymentActivities
from dichvucong.activities.postal import PostalActivities
from dichvucong.db.engine import Database
from dichvucong.integrations.email import EmailChannel
from dichvucong.integrations.payment_gateway import PaymentGatewayClient
from dichvucong.integrations.postal import PostalClient
from dichvucong.integrations.sms import SmsChannel, SmsSink
from dichvucong.settings import Settings


def _base(settings: Settings) -> str:
    return str(settings.public_base_url).rstrip("/")


def payment_gateway_url(settings: Settings) -> str:
    return (settings.payment_gateway_url or f"{_base(settings)}/_sim/payment").rstrip("/")


def payment_merchant_code(settings: Settings) -> str:
    return settings.payment_merchant_code


def payment_secret(settings: Settings) -> str:
    return settings.payment_secret


def postal_api_url(settings: Settings) -> str:
    return (settings.postal_api_url or f"{_base(settings)}/_sim/postal").rstrip("/")


def postal_secret(settings: Settings) -> str:
    return settings.postal_secret


def payment_callback_url(settings: Settings) -> str:
    return f"{_base(settings)}/api/v1/payments/callback"


def postal_callback_url(settings: Settings) -> str:
    return f"{_base(settings)}/api/v1/postal/callback"


def sms_sink_file(settings: Settings) -> Path:
    return settings.sms_sink_file or Path(settings.var_dir) / "sms.jsonl"


def build_payment_client(settings: Settings) -> PaymentGatewayClient:
    return PaymentGatewayClient(payment_gateway_url(settings), payment_merchant_code(settings),
                                payment_secret(settings))


def build_postal_client(settings: Settings) -> PostalClient:
    return PostalClient(postal_api_url(settings), postal_secret(settings))


def build_outside_activities(settings: Settings, db: Database) -> list[Callable[..., Any]]:
    payments = PaymentActivities(build_payment_client(settings))
    postal = PostalActivities(build_postal_client(settings), db)
    return [postal.dispatch_result, payments.request_refund, payments.query_payment]


def build_channels(settings: Settings, db: Database | None = None) -> list[Channel]:
    """Email (SMTP) and SMS (development sink). Pass the worker's ``db``; without
    one, the channels open their own engine on the read model."""
    db = db or Database(settings.resolved_database_url)
    email = EmailChannel(
        db, host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        public_base_url=_base(settings),
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
    sms = SmsChannel(db, SmsSink(sms_sink_file(settings)), public_base_url=_base(settings))
    return [email, sms]
