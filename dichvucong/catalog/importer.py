"""Import procedures from an export of the national procedure database (CSDL
quốc gia về TTHC): JSON or XLSX with its columns — Mã thủ tục, Tên thủ tục,
Lĩnh vực, Cấp thực hiện, Thời hạn giải quyết, Phí/lệ phí, Cơ quan thực hiện
(optional: Trạng thái, Ngành, Căn cứ pháp lý, Kết quả thực hiện).

The YAML files stay the catalog's source: the import writes them, in the
catalog folder it is given (default the package's ``catalog/data``; the
operator reviews the change like any other edit — ``git diff`` — and restarts /
re-seeds). Matching is by national code (``national_code``):

- a known procedure gets the fields the national database owns (name, field,
  time limit, level, a fixed fee's amount) and keeps everything that is ours
  (documents, form, steps, agencies...). Step budgets shrink with the time limit.
- a new procedure is written as a *level 2* draft (information and forms only,
  no online submission) with one processing step, until someone completes it.
- removal (a row marked "bãi bỏ"/"hết hiệu lực", or with ``remove_missing`` a
  procedure absent from the export) and a change of level are *breaking*: refused
  while open dossiers use the procedure. Open dossiers keep what they were
  submitted under (steps, time limit, fee are copied into each case), so the
  other changes are not breaking.

Nothing is deleted or changed unless the whole result still loads as a valid
catalog; the report lists added / changed / unchanged / removed / refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import col, select

from dichvucong.catalog.loader import DEFAULT_DATA_DIR, CatalogError, check_procedure, load_catalog
from dichvucong.catalog.models import Agency, Procedure
from dichvucong.catalog.search import fold

COLUMNS = {  # folded header -> our key
    "ma thu tuc": "national_code",
    "ma tthc": "national_code",
    "ma so": "national_code",
    "ten thu tuc": "name",
    "ten tthc": "name",
    "linh vuc": "field",
    "nganh": "sector",
    "bo nganh": "sector",
    "bo, nganh": "sector",
    "cap thuc hien": "level",
    "thoi han giai quyet": "time_limit",
    "phi, le phi": "fee",
    "phi/le phi": "fee",
    "phi le phi": "fee",
    "le phi": "fee",
    "phi": "fee",
    "co quan thuc hien": "agency",
    "trang thai": "state",
    "tinh trang": "state",
    "can cu phap ly": "legal_basis",
    "ket qua thuc hien": "result",
}
LEVELS = {"tinh": "province", "huyen": "district", "xa": "commune"}
ABOLISHED = ("bai bo", "het hieu luc", "huy bo", "ngung")
FREE_WORDS = ("khong", "mien")
# A fee text is "free" only when it is made of these words and says khong/mien:
# "Không", "Miễn phí", "Không thu phí, lệ phí". Anything else without one plain
# amount ("Theo quy định", "Miễn giảm theo quy định") cannot be read.
FREE_VOCABULARY = frozenset({*FREE_WORDS, "thu", "phi", "le", "co", "nop", "phai"})
NATIONAL_CODE = re.compile(r"^\d+\.\d+$")
OPEN_EXCLUDED = ("COMPLETED", "REFUSED", "REJECTED", "WITHDRAWN")


class CatalogImportError(ValueError):
    """The file cannot be read as an export of the national database."""


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # code -> fields
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # national code or code -> why
    missing: list[str] = field(default_factory=list)  # in our catalog, not in the export
    written: list[str] = field(default_factory=list)
    # code -> what the export says that the importer does not apply: for a person to check
    review: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [
            f"Thêm mới: {len(self.added)}; thay đổi: {len(self.changed)}; "
            f"không đổi: {len(self.unchanged)}; xóa: {len(self.removed)}; "
            f"từ chối: {len(self.refused)}"
        ]
        lines += [f"  + {c}" for c in self.added]
        lines += [f"  ~ {c}: {', '.join(f)}" for c, f in self.changed.items()]
        lines += [f"  - {c}" for c in self.removed]
        lines += [f"  ! {c}: {why}" for c, why in self.refused.items()]
        if self.review:
            lines.append("Cần kiểm tra bằng tay (không tự cập nhật):")
            lines += [f"  ? {c}: {why}" for c, why in self.review.items()]
        if self.missing:
            lines.append(
                "Có trong danh mục nhưng không có trong tệp (giữ nguyên): "
                + ", ".join(self.missing)
            )
        return "\n".join(lines)


# ----------------------------------------------------------------- reading the export


def _key(header: Any) -> str | None:
    text = " ".join(fold(str(header or "")).replace("\n", " ").split()).strip(" :*")
    return COLUMNS.get(text)


def _rows_from_dicts(items: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for item in items:
        row: dict[str, str] = {}
        for header, value in item.items():
            key = _key(header) or (header if header in COLUMNS.values() else None)
            if key and value not in (None, "") and key not in row:
                row[key] = str(value).strip()
        if row:
            rows.append(row)
    return rows


def read_export(path: Path) -> list[dict[str, str]]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise CatalogImportError(f"{path}: không đọc được JSON: {exc}") from exc
        if isinstance(data, dict):
            data = next(
                (
                    data[k]
                    for k in ("data", "items", "result", "thu_tuc")
                    if isinstance(data.get(k), list)
                ),
                None,
            )
        if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
            raise CatalogImportError(f"{path}: cần một danh sách thủ tục (JSON array of objects)")
        return _rows_from_dicts(data)
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # openpyxl raises many kinds
            raise CatalogImportError(f"{path}: không đọc được XLSX: {exc}") from exc
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
        # Exports carry title lines above the header: the header has "Mã thủ tục".
        for i, header in enumerate(table):
            keys = [_key(h) for h in header]
            if "national_code" in keys:
                return _rows_from_dicts(
                    {str(h): v for h, v in zip(header, r, strict=False) if h is not None}
                    for r in table[i + 1 :]
                    if any(v not in (None, "") for v in r)
                )
        raise CatalogImportError(f"{path}: không thấy dòng tiêu đề có cột 'Mã thủ tục'")
    raise CatalogImportError(f"{path}: chỉ nhận tệp .json hoặc .xlsx")


# ----------------------------------------------------------------- interpreting columns


def parse_level(text: str, prefer: str | None = None) -> str | None:
    found = [lvl for word, lvl in LEVELS.items() if re.search(rf"\b{word}\b", fold(text))]
    if prefer in found:
        return prefer
    return found[0] if found else None


def parse_time_limit(text: str) -> dict[str, float | bool] | None:
    """ "10 ngày làm việc" -> {"days": 10}; "08 giờ" -> {"hours": 8}; "1/2 ngày" or
    "Nửa ngày" -> {"days": 0.5}; "Trong ngày" -> {"same_day": True} (due the day of
    reception); None when no number and unit can be read. A clock time ("trước 15 giờ")
    is a cut-off, not a limit."""
    folded = re.sub(r"\b(truoc|sau|luc)\s*\d+\s*(gio|h)\b(\s*\d+)?", " ", fold(text))
    fraction = re.search(r"(\d+)\s*/\s*(\d+)\s*ngay", folded)
    if fraction and int(fraction.group(2)) > 0:
        return {"days": int(fraction.group(1)) / int(fraction.group(2))}
    if re.search(r"\bnua ngay", folded):
        return {"days": 0.5}
    match = re.search(r"(\d+(?:[.,]\d+)?)\s*(ngay|gio)", folded)
    if match:
        value = float(match.group(1).replace(",", "."))
        if value > 0:
            return {"days": value} if match.group(2) == "ngay" else {"hours": value}
    if "trong ngay" in folded:
        return {"same_day": True}
    return None


def _limit_days(limit: dict[str, float | bool]) -> float:
    """How many working days step budgets may take within ``limit``."""
    if limit.get("same_day"):
        return 1.0
    return float(limit.get("days") or float(limit["hours"]) / 8)


def parse_fee(text: str) -> int | None:
    """An amount in đồng; 0 when free (an empty text, "Không", "Miễn phí", "Không thu
    phí"...); None when the text is neither one plain amount nor plainly free."""
    folded = fold(text)
    amounts = re.findall(r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:d\b|dong|vnd)", folded)
    if len(amounts) == 1:
        return int(re.sub(r"[.,]", "", amounts[0]))
    if amounts or re.search(r"\d", folded):
        return None
    found = re.findall(r"[a-z]+", folded)
    if not found:
        return 0 if not folded.strip() else None  # no fee given: free; "-", "?": unreadable
    if set(found) <= FREE_VOCABULARY and any(w in FREE_WORDS for w in found):
        return 0
    return None


def _slug(name: str, taken: set[str], national_code: str) -> str:
    words = re.findall(r"[a-z0-9]+", fold(name))
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 40:
            break
        slug = f"{slug}-{word}" if slug else word
    slug = slug or "thu-tuc"
    if slug in taken:
        suffix = "-" + national_code.replace(".", "-")
        slug = slug[: 40 - len(suffix)].rstrip("-") + suffix
    return slug


def _agencies_for(text: str, level: str, agencies: dict[str, Agency]) -> list[str]:
    """Agencies named in ``text`` at ``level``; for district/commune procedures named
    generically ("UBND cấp xã") every agency of that level."""
    at_level = [a for a in agencies.values() if a.admin_level == level]
    folded = fold(text)
    named = [a.code for a in at_level if fold(a.name) in folded]
    if named:
        return named
    if level in ("district", "commune"):
        return [a.code for a in at_level]
    return []


# ----------------------------------------------------------------- the import


@dataclass
class _Entry:
    path: Path
    raw: dict[str, Any]
    header: str
    procedure: Procedure


def _read_entries(proc_dir: Path) -> dict[str, _Entry]:
    entries = {}
    for path in sorted(proc_dir.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        lead = []
        for line in text.splitlines(keepends=True):
            if not line.startswith("#"):
                break
            lead.append(line)
        header = "".join(lead)
        raw = yaml.safe_load(text)
        entries[path.stem] = _Entry(path, raw, header, Procedure.model_validate(raw))
    return entries


def open_dossier_counts(db: Any) -> dict[str, int]:
    from dichvucong.db.models import Dossier

    with db.session() as session:
        rows = session.exec(
            select(Dossier.procedure_code, func.count())
            .where(col(Dossier.status).not_in(OPEN_EXCLUDED))
            .group_by(Dossier.procedure_code)
        ).all()
    return {code: int(n) for code, n in rows}


def _dump(header: str, raw: dict[str, Any]) -> str:
    return header + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=100)


def import_catalog(
    source: Path,
    data_dir: Path | None = None,
    *,
    db: Any | None = None,
    remove_missing: bool = False,
    dry_run: bool = False,
    today: date | None = None,
) -> ImportReport:
    data_dir = Path(data_dir or DEFAULT_DATA_DIR)
    proc_dir = data_dir / "procedures"
    catalog = load_catalog(data_dir)  # refuse to start from an invalid catalog
    entries = _read_entries(proc_dir)
    by_national = {
        e.procedure.national_code: code for code, e in entries.items() if e.procedure.national_code
    }
    in_use = open_dossier_counts(db) if db is not None else None
    report = ImportReport()
    writes: dict[str, str] = {}  # code -> new file text
    deletes: list[str] = []
    seen: set[str] = set()
    today = today or date.today()

    def uses(code: str) -> int | None:
        return None if in_use is None else in_use.get(code, 0)

    def refuse_if_used(code: str, what: str) -> bool:
        n = uses(code)
        if n is None:
            report.refused[code] = f"{what}: cần kết nối CSDL để kiểm tra hồ sơ đang mở"
            return True
        if n:
            report.refused[code] = f"{what}: đang có {n} hồ sơ chưa kết thúc dùng thủ tục này"
            return True
        return False

    rows = read_export(source)
    # A national code twice in one file: which record is right is not ours to guess,
    # so none of them is applied (and the procedure is not "missing" either).
    records: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        records.setdefault(row.get("national_code", ""), []).append(number)
    for row in rows:
        national = row.get("national_code", "")
        if not NATIONAL_CODE.match(national):
            report.refused[national or "?"] = "mã thủ tục không hợp lệ (dạng 1.001234)"
            continue
        seen.add(national)
        if len(records[national]) > 1:
            report.refused[national] = (
                f"mã thủ tục trùng trong tệp: bản ghi thứ "
                f"{', '.join(map(str, records[national]))} cùng mã {national}; "
                "không nhập bản ghi nào"
            )
            continue
        abolished = any(w in fold(row.get("state", "")) for w in ABOLISHED)
        code = by_national.get(national)
        if abolished:
            if code is not None and not refuse_if_used(code, "bãi bỏ"):
                deletes.append(code)
            continue
        if code is None:
            _add(row, national, catalog.agencies, entries, writes, report, today)
        else:
            _update(row, code, entries[code], catalog.agencies, writes, report, refuse_if_used)

    for national, code in sorted(by_national.items()):
        if national in seen:
            continue
        if remove_missing:
            if not refuse_if_used(code, "không còn trong CSDL quốc gia"):
                deletes.append(code)
        else:
            report.missing.append(code)

    # The result must load as a catalog, or nothing is written.
    problems = _check_result(entries, writes, deletes, catalog.agencies)
    for code, why in problems.items():
        report.refused[code] = why
        writes.pop(code, None)
        report.added = [c for c in report.added if c != code]
        report.changed.pop(code, None)
    report.removed = sorted(deletes)
    if not dry_run:
        for code, text in writes.items():
            (proc_dir / f"{code}.yaml").write_text(text, encoding="utf-8")
            report.written.append(code)
        for code in deletes:
            entries[code].path.unlink()
        load_catalog(data_dir)  # and it does
    return report


def _check_result(
    entries: dict[str, _Entry],
    writes: dict[str, str],
    deletes: list[str],
    agencies: dict[str, Agency],
) -> dict[str, str]:
    problems = {}
    for code, text in writes.items():
        try:
            procedure = Procedure.model_validate(yaml.safe_load(text))
        except ValidationError as exc:
            problems[code] = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            continue
        found = check_procedure(procedure, agencies)
        if found:
            problems[code] = "; ".join(found)
    return problems


def _add(
    row: dict[str, str],
    national: str,
    agencies: dict[str, Agency],
    entries: dict[str, _Entry],
    writes: dict[str, str],
    report: ImportReport,
    today: date,
) -> None:
    name = row.get("name", "").strip()
    level = parse_level(row.get("level", ""))
    limit = parse_time_limit(row.get("time_limit", ""))
    if not name or level is None or limit is None:
        missing = [
            k
            for k, v in (
                ("Tên thủ tục", name),
                ("Cấp thực hiện", level),
                ("Thời hạn giải quyết", limit),
            )
            if not v
        ]
        report.refused[national] = "thiếu hoặc không đọc được: " + ", ".join(missing)
        return
    codes = _agencies_for(row.get("agency", ""), level, agencies)
    if not codes:
        report.refused[national] = (
            f"không xác định được cơ quan thực hiện "
            f"({row.get('agency', '')!r}) trong danh mục cơ quan"
        )
        return
    amount = parse_fee(row.get("fee", ""))
    if amount is None:
        # Never publish an unreadable fee as free: someone enters it by hand.
        report.refused[national] = (
            f"không đọc được Phí/lệ phí {row.get('fee', '')!r} "
            "(cần một mức phí cố định, hoặc 'Không'/'Miễn phí'); nhập phí bằng tay"
        )
        return
    code = _slug(name, set(entries) | set(writes), national)
    fee: dict[str, Any] = {"kind": "free"} if not amount else {"kind": "fixed", "amount": amount}
    if row.get("fee"):
        fee["note"] = row["fee"][:500]
    days = _limit_days(limit)
    raw: dict[str, Any] = {
        "code": code,
        "national_code": national,
        "name": name,
        "sector": row.get("sector") or row.get("field") or "Khác",
        "field": row.get("field") or row.get("sector") or "Khác",
        "admin_level": level,
        "service_level": "2",
        "agencies": codes,
        "legal_basis": [
            s.strip() for s in re.split(r"[\n;]+", row.get("legal_basis", "")) if s.strip()
        ]
        or ["Theo quyết định công bố thủ tục hành chính (CSDL quốc gia về TTHC)"],
        "time_limit": {**limit, "note": row.get("time_limit", "")[:300]},
        "fee": fee,
        "steps": [
            {
                "key": "giai_quyet",
                "name": "Giải quyết hồ sơ",
                "role": "specialist",
                "budget_days": days,
            }
        ],
        "payment_stage": "none",
        "delivery_options": ["counter"],
        "result_description": row.get("result") or "Theo quy định của thủ tục hành chính",
        "downloadable_forms": [
            {
                "name": "Mẫu đơn, tờ khai",
                "description": "Xem tại CSDL quốc gia về thủ tục hành chính",
            }
        ],
    }
    header = (
        f"# {name}\n# Imported from the national procedure database on {today:%d/%m/%Y}:\n"
        "# level 2 (information and forms only) until someone adds documents, form\n"
        "# fields, steps and payment, and raises service_level.\n"
    )
    writes[code] = _dump(header, raw)
    report.added.append(code)


def _update(
    row: dict[str, str],
    code: str,
    entry: _Entry,
    agencies: dict[str, Agency],
    writes: dict[str, str],
    report: ImportReport,
    refuse_if_used: Any,
) -> None:
    raw = dict(entry.raw)
    current = entry.procedure
    changed: list[str] = []
    name = " ".join(row.get("name", "").split())
    if name and name != current.name:
        raw["name"] = name
        changed.append("name")
    if row.get("field") and row["field"] != current.field:
        raw["field"] = row["field"]
        changed.append("field")
    limit = parse_time_limit(row.get("time_limit", ""))
    old_limit: dict[str, float | bool] = {
        k: v
        for k, v in (
            ("days", current.time_limit.days),
            ("hours", current.time_limit.hours),
            ("same_day", current.time_limit.same_day or None),
        )
        if v is not None
    }
    if limit is not None and limit != old_limit:
        raw["time_limit"] = {**limit, "note": row["time_limit"][:300]}
        new_days = _limit_days(limit)
        budget = sum(s.budget_days for s in current.steps)
        if budget > new_days + 1e-9:  # steps must fit: shrink them in proportion
            raw["steps"] = [
                {
                    **s,
                    "budget_days": math.floor(s["budget_days"] * new_days / budget * 1000) / 1000
                    or 0.001,
                }
                for s in raw["steps"]
            ]
        changed.append("time_limit")
    amount = parse_fee(row.get("fee", ""))
    fee = raw.get("fee") or {}
    if amount and fee.get("kind") == "fixed" and fee.get("amount") != amount:
        raw["fee"] = {**fee, "amount": amount}
        changed.append("fee")
    elif fee_review := _fee_disagreement(row.get("fee", "").strip(), amount, fee.get("kind")):
        # Free <-> paid also decides when and how the fee is paid (payment_stage,
        # reductions): not a change to make without a person.
        report.review[code] = fee_review
    level = parse_level(row.get("level", ""), prefer=current.admin_level)
    if level is not None and level != current.admin_level:
        if refuse_if_used(code, f"đổi cấp thực hiện {current.admin_level} → {level}"):
            return
        codes = _agencies_for(row.get("agency", ""), level, agencies)
        if not codes:
            report.refused[code] = f"đổi cấp thực hiện sang {level}: không xác định được cơ quan"
            return
        raw["admin_level"], raw["agencies"] = level, codes
        changed.append("admin_level")
    if not changed:
        report.unchanged.append(code)
        return
    writes[code] = _dump(entry.header, raw)
    report.changed[code] = changed


def _fee_disagreement(text: str, amount: int | None, kind: str | None) -> str | None:
    """Why the export's fee text and our fee rule disagree in kind, or None."""
    if not text:
        return None
    if kind == "free" and amount:
        return f"tệp ghi Phí/lệ phí {text!r}, danh mục ghi miễn phí"
    if kind == "free" and amount is None:
        return f"tệp ghi Phí/lệ phí {text!r} (không đọc được), danh mục ghi miễn phí"
    if kind not in (None, "free") and amount == 0:
        return f"tệp ghi Phí/lệ phí {text!r} (miễn phí), danh mục có thu phí"
    return None


__all__ = ["CatalogError", "CatalogImportError", "ImportReport", "import_catalog", "read_export"]
