"""The one configuration object. Every field is an environment variable with the
``DVC_`` prefix (``DVC_DATABASE_URL``...), and a ``.env`` file is read too.

Defaults run everything embedded on one machine: the Temporal CLI dev server on
a SQLite file, a SQLite read model and documents on the local disk.
"""

from __future__ import annotations

import ipaddress
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "dev-secret-change-me"

OfficeInterval = tuple[time, time]


def parse_office_hours(spec: str) -> list[OfficeInterval]:
    """``"07:00-11:30,13:30-17:00"`` -> ordered, non-overlapping intervals."""
    intervals: list[OfficeInterval] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            start_s, end_s = part.split("-")
            start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
        except ValueError as exc:
            raise ValueError(f"office hours interval {part!r} is not HH:MM-HH:MM") from exc
        if start >= end:
            raise ValueError(f"office hours interval {part!r} ends before it starts")
        if intervals and start < intervals[-1][1]:
            raise ValueError(f"office hours interval {part!r} overlaps or is out of order")
        intervals.append((start, end))
    if not intervals:
        raise ValueError("office hours must have at least one interval")
    return intervals


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVC_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="development seeds demo accounts; production refuses placeholder secrets.",
    )
    var_dir: Path = Field(Path("var"), description="Where embedded state lives (databases, files).")

    # Temporal
    temporal_address: str = Field("127.0.0.1:7233", description="Temporal frontend host:port.")
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    task_queue: str = Field("dossiers", description="Task queue of the dossier worker.")
    temporal_ui_port: int = Field(8233, description="Port of the dev server's Web UI.")
    temporal_ui_public_url: str = Field(
        "http://127.0.0.1:8233",
        description="Base URL of the Temporal Web UI (links for supervisors).",
    )
    temporal_db_file: Path | None = Field(
        None, description="SQLite file of the dev server (default: <var_dir>/temporal.db)."
    )

    # Read model
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the read model (default: sqlite:///<var_dir>/dichvucong.db; "
        "postgresql+psycopg://... in production).",
    )

    # Web
    http_host: str = Field("127.0.0.1", description="Address the web app listens on.")
    http_port: int = Field(8000, description="Port the web app listens on.")
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="Addresses or networks (CIDR, comma-separated) of the reverse proxies whose "
        "X-Forwarded-For/-Proto the web app believes: the citizen's address for rate limits "
        "and the audit log. Anything else that sends them is ignored.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL of the portal (links, QR codes)."
    )
    secret_key: str = Field(PLACEHOLDER_SECRET, description="Signs sessions and tokens.")
    access_token_minutes: int = Field(480, description="Lifetime of API bearer tokens.")

    # Calendar
    office_hours: str = Field(
        "07:00-11:30,13:30-17:00", description="Office hours of a working day, comma-separated."
    )
    calendar_overrides_file: Path | None = Field(
        None, description="YAML file of local days off / make-up working days (added to ours)."
    )

    # Case rules (numbers a law or the province sets live here, not in code)
    reception_limit_hours: float = Field(
        8, description="Working hours an online dossier may wait for reception."
    )
    supplement_window_days: int = Field(
        30, description="Working days a citizen has to supplement before the dossier is closed."
    )
    payment_reminder_days: int = Field(2, description="Working days before a payment reminder.")
    payment_expiry_days: int = Field(
        5, description="Working days before an unpaid dossier expires."
    )
    postal_dispatch_limit_hours: int = Field(
        24, description="Hours from result to shipment creation (postal regulation)."
    )
    feedback_answer_days: int = Field(3, description="Working days to answer citizens' feedback.")
    at_risk_days: int = Field(
        1, description="Working days before the due moment for the at-risk notice."
    )
    paper_cutoff: str = Field(
        "15:00",
        description="Paper dossiers, and any dossier of a same-day procedure, received after "
        "this local time start the next working day.",
    )
    supplement_request_days: int = Field(
        3, description="Working days after reception within which processing may ask for a supplement."
    )

    # Worker tuning
    worker_max_cached_workflows: int = Field(
        400, description="Open cases a worker keeps in memory (sticky cache); bounds its RSS."
    )
    worker_max_concurrent_activities: int = Field(
        32, description="Activities a worker runs at once (threads for the synchronous ones)."
    )
    worker_graceful_shutdown_seconds: float = Field(
        30,
        ge=0,
        description="On SIGTERM/SIGINT the worker stops taking tasks and lets running "
        "activities finish this long before cancelling them (one outside call's attempt).",
    )
    worker_metrics_address: str | None = Field(
        None,
        description="IP:port where the worker serves the Temporal SDK's Prometheus metrics "
        "at /metrics (task slots, schedule-to-start latencies, sticky cache); unset: none.",
    )

    # Documents
    documents_dir: Path | None = Field(
        None, description="Document store folder (default <var_dir>/documents)."
    )
    max_file_bytes: int = Field(10 * 1024 * 1024, description="Largest accepted upload.")
    max_dossier_bytes: int = Field(
        50 * 1024 * 1024, description="Largest total upload per dossier."
    )

    document_store: Literal["local", "s3"] = Field(
        "local",
        description="Document store backend: local (documents_dir) or s3 (an S3-compatible "
        "bucket, s3_* settings; uploads are spooled under <var_dir>/upload-spool first).",
    )
    document_sweep_grace_hours: int = Field(
        24, description="Hours before an unreferenced uploaded file may be swept."
    )

    # Payment gateway (national payment platform, PayGov-style)
    payment_gateway_url: str | None = Field(
        None,
        description="Gateway base URL (default: the simulator at <public_base_url>/_sim/payment; "
        "required in production).",
    )
    payment_merchant_code: str = Field(
        "DVC-DONGNAI", description="Our merchant code at the gateway."
    )
    payment_secret: str = Field(
        "dev-payment-secret", description="Shared secret of the gateway's check field."
    )

    # Public postal service
    postal_api_url: str | None = Field(
        None,
        description="Postal API base URL (default: the simulator at <public_base_url>/_sim/postal; "
        "required in production).",
    )
    postal_secret: str = Field("dev-postal-secret", description="Shared secret of postal webhooks.")

    # Notifications
    smtp_host: str = Field("127.0.0.1", description="SMTP server for citizen emails.")
    smtp_port: int = Field(8025, description="SMTP port (the dev stack runs a local server here).")
    smtp_from: str = Field(
        "Cổng Dịch vụ công Đồng Nai <no-reply@dichvucong.local>", description="Sender of emails."
    )
    smtp_starttls: bool = Field(False, description="Use STARTTLS.")
    smtp_username: str | None = Field(None, description="SMTP login.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    sms_sink_file: Path | None = Field(
        None, description="Development SMS sink (default <var_dir>/sms.jsonl)."
    )
    dev_mail_dir: Path | None = Field(
        None,
        description="Folder of the development SMTP server's mailbox (default <var_dir>/mail).",
    )

    # Development
    demo_cases: int = Field(
        300, description="Demo cases `dichvucong dev` creates on an empty database (0: none)."
    )
    demo_password: str = Field("demo12345", description="Password of seeded demo accounts.")

    # Security (dichvucong/security)
    codec_keys: str = Field(
        "",
        description="AES-256-GCM keys of the Temporal payload codec, 'id:<base64 32 bytes>' "
        "comma-separated; the first encrypts, all decrypt (rotation). Empty outside production: "
        "a key derived from secret_key. Required in production.",
    )
    rate_limits: str = Field(
        "login=30:10/300,register=10:5/3600,lookup=60:30/60,feedback=10:5/3600",
        description="Sliding-window limits: bucket=<per IP>:<per account>/<seconds>, comma-separated.",
    )
    rate_limit_enabled: bool = Field(True, description="Apply the rate limits.")
    login_max_failures: int = Field(
        5, description="Failed sign-ins of one account before it is locked."
    )
    login_lockout_minutes: int = Field(
        15, description="Minutes an account stays locked after too many failed sign-ins."
    )
    max_image_pixels: int = Field(
        40_000_000, description="Largest accepted image (pixels); larger ones are refused."
    )

    # National systems (National Public Service Portal sync, VNeID sign-in, schedules)
    national_sync_enabled: bool = Field(
        True, description="Report dossiers and their transitions to the national portal."
    )
    national_portal_url: str | None = Field(
        None,
        description="National portal sync API base URL (default: the simulator at "
        "<public_base_url>/_sim/national outside production; unset in production = sync off).",
    )
    national_client_id: str = Field(
        "dvc-dongnai", description="Our client id at the national portal (client credentials)."
    )
    national_client_secret: str = Field(
        "dev-national-secret", description="Our client secret at the national portal."
    )
    national_timeout_seconds: float = Field(
        10.0, description="Timeout of one HTTP call to the national portal."
    )
    vneid_issuer: str | None = Field(
        None,
        description="VNeID OpenID Connect issuer URL (default: the simulated provider at "
        "<public_base_url>/_sim/oidc outside production; unset in production = VNeID off).",
    )
    vneid_client_id: str = Field("dvc-dongnai", description="Our client id at VNeID.")
    vneid_client_secret: str = Field("dev-vneid-secret", description="Our client secret at VNeID.")
    schedules_enabled: bool = Field(
        True, description="Create the Temporal Schedules (periodic jobs) when the worker starts."
    )
    digest_time: str = Field(
        "07:00", description="Local time (Asia/Ho_Chi_Minh) of the daily at-risk digest."
    )
    reports_dir: Path | None = Field(
        None, description="Where the quarterly report job writes its files (<var_dir>/reports)."
    )

    # S3-compatible document store (document_store = "s3")
    s3_endpoint_url: str | None = Field(
        None,
        description="Endpoint of the S3-compatible store (http://minio:9000...); unset = AWS S3.",
    )
    s3_bucket: str | None = Field(
        None, description="Bucket holding the documents (required when document_store is s3)."
    )
    s3_prefix: str = Field(
        "documents", description="Key prefix of the documents: <prefix>/ab/cd/<sha256>."
    )
    s3_region: str = Field("us-east-1", description="Region of the bucket (signing region).")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key id (unset: boto3's default credential chain)."
    )
    s3_secret_access_key: str | None = Field(
        None, description="S3 secret access key (unset: boto3's default credential chain)."
    )

    @field_validator("office_hours")
    @classmethod
    def _check_office_hours(cls, value: str) -> str:
        parse_office_hours(value)
        return value

    @field_validator("worker_metrics_address")
    @classmethod
    def _check_metrics_address(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        # The SDK binds a socket address, not a name: "localhost:9464" is refused there.
        host, _, port = value.rpartition(":")
        try:
            ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
        except ValueError:
            host = ""
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"worker_metrics_address {value!r} is not IP:port (0.0.0.0:9464)")
        return value

    @field_validator("paper_cutoff")
    @classmethod
    def _check_paper_cutoff(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"paper_cutoff {value!r} is not HH:MM") from exc
        return value

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.environment == "production":
            placeholders = {
                "DVC_SECRET_KEY": self.secret_key == PLACEHOLDER_SECRET,
                "DVC_PAYMENT_SECRET": self.payment_secret == "dev-payment-secret",
                "DVC_POSTAL_SECRET": self.postal_secret == "dev-postal-secret",
                "DVC_NATIONAL_CLIENT_SECRET": self.national_portal_url is not None
                and self.national_client_secret == "dev-national-secret",
                "DVC_VNEID_CLIENT_SECRET": self.vneid_issuer is not None
                and self.vneid_client_secret == "dev-vneid-secret",
            }
            unset = [name for name, placeholder in placeholders.items() if placeholder]
            if unset:
                raise ValueError(f"{', '.join(unset)} must be set to real secrets in production")
            # Their defaults are the simulators under /_sim, which production does not
            # mount: every payment and shipment would fail at run time instead of here.
            missing = [
                name
                for name, url in (
                    ("DVC_PAYMENT_GATEWAY_URL", self.payment_gateway_url),
                    ("DVC_POSTAL_API_URL", self.postal_api_url),
                )
                if not url
            ]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} must be set in production (the simulators they "
                    "default to run only outside production)"
                )
        return self

    @property
    def office_intervals(self) -> list[OfficeInterval]:
        return parse_office_hours(self.office_hours)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'dichvucong.db'}"

    @property
    def resolved_temporal_db_file(self) -> Path:
        return self.temporal_db_file or self.var_dir / "temporal.db"

    @property
    def resolved_documents_dir(self) -> Path:
        return self.documents_dir or self.var_dir / "documents"


@lru_cache
def get_settings() -> Settings:
    return Settings()
