"""The catalog's shapes: agencies and procedures as the YAML files describe them.

The models check each file on its own (types, allowed values, required keys);
the checks that look across files or across a procedure's parts (agencies
exist, step budgets fit the time limit, delivery fits the service level...)
live in :mod:`dichvucong.catalog.loader`, which knows the file names and so
can say where a problem is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dichvucong.workflows.messages import StepSpec

AdminLevel = Literal["province", "district", "commune"]
ServiceLevel = Literal["2", "partial", "full"]
StepRole = Literal["reception", "specialist", "leader", "issuer"]
PaymentStageName = Literal["none", "on_submission", "before_result"]
DeliveryOption = Literal["online", "postal", "counter"]
MediaType = Literal["application/pdf", "image/jpeg"]
FieldType = Literal[
    "text", "textarea", "date", "number", "select", "checkbox", "email", "phone", "id_number"
]

ADMIN_LEVELS: tuple[str, ...] = ("province", "district", "commune")
SERVICE_LEVELS: tuple[str, ...] = ("2", "partial", "full")

# Only used to check that step budgets fit a limit given in hours; it matches the
# default office hours (07:00-11:30, 13:30-17:00). The calendar counts real hours.
WORKING_HOURS_PER_DAY = 8
SAME_DAY_TEXT = "Trong ngày làm việc (tiếp nhận sau 15 giờ: trong ngày làm việc tiếp theo)"

_KEY = r"^[a-z][a-z0-9_]*$"
_CODE = r"^[a-z0-9][a-z0-9-]*$"


def format_vnd(amount: int) -> str:
    """``200000`` -> ``"200.000 đ"`` (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".") + " đ"


class _Model(BaseModel):
    # Typos in a data file are errors, and the loaded catalog is shared: immutable.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Model):
    code: str = Field(pattern=r"^[0-9A-Z.]+$", max_length=40,
                      description="Agency identifier, also the prefix of dossier codes.")
    name: str = Field(min_length=1)
    admin_level: AdminLevel
    parent_code: str | None = None
    slug: str = Field(pattern=r"^[a-z][a-z0-9]*$", max_length=20,
                      description="Short ASCII name (demo usernames, URLs).")


class DocumentSlot(_Model):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    required: bool = True
    accepted_types: list[MediaType] = Field(
        default_factory=lambda: ["application/pdf", "image/jpeg"], min_length=1
    )
    max_count: int = Field(1, ge=1, le=50)
    description: str | None = None


class FieldOption(_Model):
    value: str = Field(min_length=1)
    label: str = Field(min_length=1)


class FormField(_Model):
    key: str = Field(pattern=_KEY)
    label: str = Field(min_length=1)
    type: FieldType = "text"
    required: bool = False
    options: list[FieldOption] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    pattern_message: str | None = None
    max_length: int | None = Field(None, ge=1)
    help: str | None = None
    matches_birth_date: str | None = Field(
        None, description="id_number only: key of the date field holding the date of birth."
    )
    not_future: bool = Field(
        False, description="date only: a date that has happened (a birth, a decision signed), "
        "so not after today in Vietnam."
    )

    @model_validator(mode="after")
    def _not_future_is_for_dates(self) -> FormField:
        if self.not_future and self.type != "date":
            raise ValueError("not_future: only for date fields")
        return self


class ProcessingStep(_Model):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    role: StepRole
    budget_days: float = Field(gt=0)


class TimeLimit(_Model):
    days: float | None = Field(None, gt=0, description="Working days.")
    hours: float | None = Field(None, gt=0, description="Working hours.")
    same_day: bool = Field(
        False,
        description="Within the working day of reception, the next one if received after "
        "the 15:00 cut-off (Decree 23/2015, art. 7): due at the close of that day.",
    )
    note: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TimeLimit:
        if [self.days is not None, self.hours is not None, self.same_day].count(True) != 1:
            raise ValueError("give exactly one of days, hours or same_day")
        return self

    @property
    def in_days(self) -> float:
        if self.same_day:
            return 1.0
        if self.days is not None:
            return self.days
        return (self.hours or 0) / WORKING_HOURS_PER_DAY

    def describe(self) -> str:
        if self.same_day:
            return SAME_DAY_TEXT
        if self.days is not None:
            return f"{_num(self.days)} ngày làm việc"
        return f"{_num(self.hours or 0)} giờ làm việc"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


class FeeReduction(_Model):
    """A reduced or waived fee, chosen by a form field (a select or checkbox)."""

    label: str = Field(min_length=1)
    field: str = Field(pattern=_KEY)
    values: list[str] = Field(min_length=1, description="Form values that qualify.")
    amount: int | None = Field(None, ge=0, description="Replaces the base amount.")
    exempt: bool = False

    @model_validator(mode="after")
    def _amount_or_exempt(self) -> FeeReduction:
        if self.exempt == (self.amount is not None):
            raise ValueError("give either amount or exempt: true")
        return self


class _FeeBase(_Model):
    label: str = Field("Phí, lệ phí", min_length=1)
    note: str | None = Field(None, description="Reductions and exemptions, as the law words them.")
    reductions: list[FeeReduction] = Field(default_factory=list)

    def form_fields_read(self) -> list[str]:
        return [r.field for r in self.reductions]


class FreeFee(_FeeBase):
    kind: Literal["free"] = "free"
    label: str = "Không thu phí, lệ phí"

    def describe(self) -> str:
        return "Miễn phí"


class FixedFee(_FeeBase):
    kind: Literal["fixed"] = "fixed"
    amount: int = Field(ge=0)

    def describe(self) -> str:
        return f"{format_vnd(self.amount)}/hồ sơ"


class PerCopyFee(_FeeBase):
    """``base_amount`` covers ``included_copies``; each further copy costs ``extra_copy_amount``."""

    kind: Literal["per_copy"] = "per_copy"
    copies_field: str = Field("so_ban", pattern=_KEY)
    base_amount: int = Field(ge=0)
    included_copies: int = Field(1, ge=1)
    extra_copy_amount: int = Field(ge=0)

    def form_fields_read(self) -> list[str]:
        return [self.copies_field, *super().form_fields_read()]

    def describe(self) -> str:
        if self.included_copies == 1 and self.base_amount == self.extra_copy_amount:
            return f"{format_vnd(self.base_amount)}/bản"
        return (f"{format_vnd(self.base_amount)} (gồm {self.included_copies} bản); "
                f"từ bản thứ {self.included_copies + 1}: {format_vnd(self.extra_copy_amount)}/bản")


class PerPageFee(_FeeBase):
    """Per copy: the first ``first_pages`` pages at one price, the rest at another, capped."""

    kind: Literal["per_page"] = "per_page"
    pages_field: str = Field("so_trang", pattern=_KEY)
    copies_field: str | None = Field("so_ban", pattern=_KEY)
    first_pages: int = Field(2, ge=0)
    first_page_amount: int = Field(ge=0)
    next_page_amount: int = Field(ge=0)
    max_per_copy: int | None = Field(None, ge=0)

    def form_fields_read(self) -> list[str]:
        fields = [self.pages_field] + ([self.copies_field] if self.copies_field else [])
        return fields + super().form_fields_read()

    def describe(self) -> str:
        text = (f"{format_vnd(self.first_page_amount)}/trang cho {self.first_pages} trang đầu, "
                f"từ trang thứ {self.first_pages + 1}: {format_vnd(self.next_page_amount)}/trang")
        if self.max_per_copy is not None:
            text += f"; tối đa {format_vnd(self.max_per_copy)}/bản"
        return text


FeeRule = Annotated[FreeFee | FixedFee | PerCopyFee | PerPageFee, Field(discriminator="kind")]


class DownloadableForm(_Model):
    name: str = Field(min_length=1)
    description: str = ""


class Procedure(_Model):
    code: str = Field(pattern=_CODE, max_length=40, description="Our code (the file name).")
    national_code: str | None = Field(None, pattern=r"^\d+\.\d+$",
                                      description="Mã TTHC in the national database.")
    name: str = Field(min_length=1, description="Legal name of the procedure.")
    sector: str = Field(min_length=1)
    field: str = Field(min_length=1)
    admin_level: AdminLevel
    service_level: ServiceLevel
    agencies: list[str] = Field(min_length=1)
    legal_basis: list[str] = Field(min_length=1)
    time_limit: TimeLimit
    fee: FeeRule
    documents: list[DocumentSlot] = Field(default_factory=list)
    form_fields: list[FormField] = Field(default_factory=list)
    steps: list[ProcessingStep] = Field(min_length=1)
    payment_stage: PaymentStageName = "none"
    delivery_options: list[DeliveryOption] = Field(min_length=1)
    result_description: str = Field(min_length=1)
    downloadable_forms: list[DownloadableForm] = Field(default_factory=list)

    @field_validator("service_level", mode="before")
    @classmethod
    def _level_2_as_text(cls, value: Any) -> Any:
        # YAML reads `service_level: 2` as an int.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def time_limit_days(self) -> float | None:
        return self.time_limit.days

    @property
    def time_limit_hours(self) -> float | None:
        return self.time_limit.hours

    @property
    def accepts_online(self) -> bool:
        """Level 3 (partial) and 4 (full) take dossiers online; level 2 offers forms only."""
        return self.service_level in ("partial", "full")

    def step_specs(self) -> list[StepSpec]:
        return [StepSpec(key=s.key, name=s.name, role=s.role, budget_days=s.budget_days)
                for s in self.steps]

    def slot(self, key: str) -> DocumentSlot | None:
        return next((s for s in self.documents if s.key == key), None)

    def form_field(self, key: str) -> FormField | None:
        return next((f for f in self.form_fields if f.key == key), None)
