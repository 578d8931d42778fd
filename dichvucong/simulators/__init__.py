"""Simulators of the parties we cannot reach from here (payment gateway, postal
service) and the development mail box. They speak the other side of the same
protocols the adapters in ``dichvucong.integrations`` use, over real HTTP/SMTP.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dichvucong.settings import Settings
from dichvucong.simulators.mail import MailStore, dev_mail_router, start_dev_smtp
from dichvucong.simulators.payment import PaymentSimulator
from dichvucong.simulators.postal import PostalSimulator

__all__ = ["MailStore", "PaymentSimulator", "PostalSimulator", "dev_mail_dir",
           "dev_mail_router", "install_simulators", "start_dev_smtp"]


def dev_mail_dir(settings: Settings) -> Path:
    return settings.dev_mail_dir or Path(settings.var_dir) / "mail"


def install_simulators(app: FastAPI, settings: Settings) -> None:
    """Development only: mount the gateway and postal simulators and the mail page.

    ``/_sim/payment``, ``/_sim/postal`` and ``/_dev/mail``; the simulators are kept on
    ``app.state.payment_simulator`` / ``app.state.postal_simulator``.
    """
    from dichvucong.integrations.factory import sms_sink_file
    from dichvucong.integrations.sms import SmsSink

    payment = PaymentSimulator.from_settings(settings)
    postal = PostalSimulator.from_settings(settings)
    app.state.payment_simulator = payment
    app.state.postal_simulator = postal
    app.state.mail_store = MailStore(dev_mail_dir(settings))
    app.include_router(payment.router, prefix="/_sim/payment", include_in_schema=False)
    app.include_router(postal.router, prefix="/_sim/postal", include_in_schema=False)
    app.include_router(dev_mail_router(app.state.mail_store, SmsSink(sms_sink_file(settings))),
                       prefix="/_dev/mail", include_in_schema=False)
    _install_national_simulators(app, settings)


def _install_national_simulators(app: FastAPI, settings: Settings) -> None:
    """The national portal (``/_sim/national``, ``app.state.national_simulator``) and
    the VNeID OpenID provider (``/_sim/oidc``, ``app.state.oidc_simulator``)."""
    from dichvucong.simulators.national import NationalPortalSimulator
    from dichvucong.simulators.oidc import OidcProviderSimulator

    app.state.national_simulator = NationalPortalSimulator.from_settings(settings)
    app.state.oidc_simulator = OidcProviderSimulator.from_settings(settings)
    app.include_router(
        app.state.national_simulator.router, prefix="/_sim/national", include_in_schema=False
    )
    app.include_router(
        app.state.oidc_simulator.router, prefix="/_sim/oidc", include_in_schema=False
    )
