"""Loads the catalog from YAML: ``data/agencies.yaml`` and one file per procedure
in ``data/procedures/``. Every problem found is reported at once, each line
naming the file and the field path, e.g.
``procedures/ly-lich-tu-phap.yaml: steps[1].role: Input should be ...``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from dichvucong.catalog.models import (
    ADMIN_LEVELS,
    Agency,
    FreeFee,
    Procedure,
)
from dichvucong.catalog.search import name_key, search_procedures

DEFAULT_DATA_DIR = Path(__file__).parent / "data"

_agencies_adapter = TypeAdapter(list[Agency])


class CatalogError(ValueError):
    """The catalog data is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid catalog:\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass
class Catalog:
    agencies: dict[str, Agency] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)

    def agency_name(self, code: str) -> str:
        """The agency's name, or its code if the catalog no longer lists it (old cases)."""
        agency = self.agencies.get(code)
        return agency.name if agency else code

    def procedure_name(self, code: str) -> str:
        """The procedure's name, or its code if the catalog no longer lists it."""
        procedure = self.procedures.get(code)
        return procedure.name if procedure else code

    def search(
        self,
        q: str | None = None,
        admin_level: str | None = None,
        sector: str | None = None,
        field: str | None = None,
        service_level: str | None = None,
        agency: str | None = None,
    ) -> list[Procedure]:
        # Sector and field names compare as name_key (NFC + casefold): "tư pháp"
        # typed in NFD or in capitals finds "Tư pháp".
        sector_key = None if sector is None else name_key(sector)
        field_key = None if field is None else name_key(field)
        found = [
            p for p in self.procedures.values()
            if (admin_level is None or p.admin_level == admin_level)
            and (sector_key is None or name_key(p.sector) == sector_key)
            and (field_key is None or name_key(p.field) == field_key)
            and (service_level is None or p.service_level == str(service_level))
            and (agency is None or agency in p.agencies)
        ]
        return search_procedures(found, q) if q else found

    def sectors(self) -> list[str]:
        return _distinct_names(p.sector for p in self.procedures.values())

    def fields(self, sector: str | None = None) -> list[str]:
        sector_key = None if sector is None else name_key(sector)
        return _distinct_names(p.field for p in self.procedures.values()
                               if sector_key is None or name_key(p.sector) == sector_key)

    def agencies_of(self, procedure: Procedure) -> list[Agency]:
        return [self.agencies[c] for c in procedure.agencies if c in self.agencies]


def _distinct_names(names: Iterable[str]) -> list[str]:
    """Sorted, one per name_key (the first spelling met is shown)."""
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(name_key(name), name)
    return sorted(out.values())


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """The catalog in ``data_dir`` (default: the package data, loaded once and cached)."""
    if data_dir is None:
        return _load_default()
    return _load(Path(data_dir))


@lru_cache(maxsize=1)
def _load_default() -> Catalog:
    return _load(DEFAULT_DATA_DIR)


# --- loading


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _validation_lines(name: str, exc: ValidationError, prefix: Sequence[Any] = ()) -> list[str]:
    return [f"{name}: {_loc([*prefix, *e['loc']])}: {e['msg']}" for e in exc.errors()]


def _read_yaml(path: Path, name: str, problems: list[str]) -> Any:
    """The parsed file, or None after recording why it could not be used."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{name}: cannot read YAML: {exc}")
        return None
    if raw is None:
        problems.append(f"{name}: file is empty")
    return raw


def _load(data_dir: Path) -> Catalog:
    problems: list[str] = []
    agencies = _load_agencies(data_dir, problems)
    procedures: dict[str, Procedure] = {}
    national_files: dict[str, str] = {}  # national code -> first file that has it
    proc_dir = data_dir / "procedures"
    files = sorted([*proc_dir.glob("*.yaml"), *proc_dir.glob("*.yml")]) if proc_dir.is_dir() else []
    if not files:
        problems.append(f"procedures/: no procedure files in {proc_dir}")
    for path in files:
        name = f"procedures/{path.name}"
        raw = _read_yaml(path, name, problems)
        if raw is None:
            continue
        try:
            procedure = Procedure.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_lines(name, exc))
            continue
        if procedure.code != path.stem:
            problems.append(f"{name}: code: {procedure.code!r} must equal the file name "
                            f"{path.stem!r}")
        if procedure.code in procedures:
            problems.append(f"{name}: code: duplicate procedure code {procedure.code!r}")
            continue
        problems.extend(f"{name}: {p}" for p in check_procedure(procedure, agencies))
        if procedure.national_code is not None:
            first = national_files.setdefault(procedure.national_code, name)
            if first != name:
                problems.append(f"{name}: national_code: duplicate national code "
                                f"{procedure.national_code!r}, also in {first}")
        procedures[procedure.code] = procedure
    if problems:
        raise CatalogError(problems)
    return Catalog(agencies=agencies, procedures=procedures)


def _load_agencies(data_dir: Path, problems: list[str]) -> dict[str, Agency]:
    name = "agencies.yaml"
    path = data_dir / name
    if not path.is_file():
        problems.append(f"{name}: missing ({path})")
        return {}
    raw = _read_yaml(path, name, problems)
    if raw is None:
        return {}
    if isinstance(raw, dict) and "agencies" in raw:
        raw, prefix = raw["agencies"], ["agencies"]
    else:
        prefix = []
    try:
        items = _agencies_adapter.validate_python(raw)
    except ValidationError as exc:
        problems.extend(_validation_lines(name, exc, prefix))
        return {}
    agencies: dict[str, Agency] = {}
    slugs: set[str] = set()
    for i, agency in enumerate(items):
        where = f"{name}: {_loc([*prefix, i])}"
        if agency.code in agencies:
            problems.append(f"{where}.code: duplicate agency code {agency.code!r}")
            continue
        if agency.slug in slugs:
            problems.append(f"{where}.slug: duplicate slug {agency.slug!r}")
        slugs.add(agency.slug)
        agencies[agency.code] = agency
    for i, agency in enumerate(items):
        if agency.parent_code is None:
            continue
        where = f"{name}: {_loc([*prefix, i])}.parent_code"
        parent = agencies.get(agency.parent_code)
        if parent is None:
            problems.append(f"{where}: unknown agency {agency.parent_code!r}")
        elif ADMIN_LEVELS.index(parent.admin_level) >= ADMIN_LEVELS.index(agency.admin_level):
            problems.append(f"{where}: parent {parent.code} ({parent.admin_level}) is not "
                            f"above {agency.admin_level}")
    return agencies


# --- cross-checks inside one procedure and against the agencies


def _duplicates(keys: list[str]) -> list[str]:
    return sorted(k for k, n in Counter(keys).items() if n > 1)


def check_procedure(p: Procedure, agencies: dict[str, Agency]) -> list[str]:
    """Problems as ``"<field path>: <message>"`` (empty when the procedure is sound)."""
    out: list[str] = []
    for i, code in enumerate(p.agencies):
        agency = agencies.get(code)
        if agency is None:
            out.append(f"agencies[{i}]: unknown agency {code!r}")
        elif agency.admin_level != p.admin_level:
            out.append(f"agencies[{i}]: {code} is a {agency.admin_level} agency, the procedure "
                       f"is handled at {p.admin_level} level")
    for name, keys in (("documents", [d.key for d in p.documents]),
                       ("form_fields", [f.key for f in p.form_fields]),
                       ("steps", [s.key for s in p.steps]),
                       ("agencies", list(p.agencies))):
        for key in _duplicates(keys):
            out.append(f"{name}: duplicate key {key!r}")

    budget = sum(s.budget_days for s in p.steps)
    if budget > p.time_limit.in_days + 1e-9:
        out.append(f"steps: budgets sum to {budget:g} days, more than the time limit "
                   f"({p.time_limit.describe()} = {p.time_limit.in_days:g} days)")

    fields = {f.key: f for f in p.form_fields}
    for i, f in enumerate(p.form_fields):
        where = f"form_fields[{i}]"
        if f.type == "select" and not f.options:
            out.append(f"{where}.options: a select needs options")
        if f.type != "select" and f.options:
            out.append(f"{where}.options: only a select has options")
        if f.min is not None and f.max is not None and f.min > f.max:
            out.append(f"{where}.min: greater than max")
        if f.matches_birth_date is not None:
            target = fields.get(f.matches_birth_date)
            if f.type != "id_number":
                out.append(f"{where}.matches_birth_date: only for id_number fields")
            elif target is None or target.type != "date":
                out.append(f"{where}.matches_birth_date: {f.matches_birth_date!r} is not a "
                           f"date field of this form")
    for key in p.fee.form_fields_read():
        if key not in fields:
            out.append(f"fee: reads form field {key!r}, which the form does not have")
    for i, r in enumerate(p.fee.reductions):
        target = fields.get(r.field)
        if target is not None and target.type == "select":
            allowed = {o.value for o in target.options}
            for value in r.values:
                if value not in allowed:
                    out.append(f"fee.reductions[{i}].values: {value!r} is not an option of "
                               f"{r.field!r}")
    for key in [k for k in (getattr(p.fee, "copies_field", None),
                            getattr(p.fee, "pages_field", None)) if k]:
        if key in fields and fields[key].type != "number":
            out.append(f"fee: form field {key!r} must be a number field")

    free = isinstance(p.fee, FreeFee)
    if free and p.payment_stage != "none":
        out.append("payment_stage: a free procedure has no payment stage")
    if not p.accepts_online:
        if "online" in p.delivery_options:
            out.append("delivery_options: a level 2 procedure cannot return results online")
        if p.payment_stage != "none":
            out.append("payment_stage: a level 2 procedure takes no online payment")
        if not p.downloadable_forms:
            out.append("downloadable_forms: a level 2 procedure must offer its forms")
    else:
        if not free and p.payment_stage == "none":
            out.append("payment_stage: a procedure with a fee needs on_submission or "
                       "before_result")
        if p.service_level == "partial" and "online" in p.delivery_options:
            out.append("delivery_options: online results need service level full")
    if len(set(p.delivery_options)) != len(p.delivery_options):
        out.append("delivery_options: duplicates")
    return out
