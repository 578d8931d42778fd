"""Bad data files fail loading with the file and the field path in the message."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dichvucong.catalog import CatalogError, load_catalog
from dichvucong.catalog.loader import DEFAULT_DATA_DIR

LLTP = "procedures/ly-lich-tu-phap.yaml"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _edit(data_dir: Path, name: str, change: Callable[[Any], None]) -> None:
    path = data_dir / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _error(data_dir: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(data_dir)
    return str(info.value)


def test_copy_of_the_shipped_data_loads(data_dir: Path) -> None:
    assert len(load_catalog(data_dir).procedures) == len(load_catalog().procedures)


def test_bad_step_role(data_dir: Path) -> None:
    _edit(data_dir, LLTP, lambda d: d["steps"][1].update(role="janitor"))
    message = _error(data_dir)
    assert f"{LLTP}: steps[1].role: Input should be 'reception', 'specialist'" in message


def test_missing_field_and_wrong_type(data_dir: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        del d["name"]
        d["form_fields"][0]["type"] = "colour"
        d["documents"][0]["accepted_types"] = ["image/png"]

    _edit(data_dir, LLTP, change)
    message = _error(data_dir)
    assert f"{LLTP}: name: Field required" in message
    assert f"{LLTP}: form_fields[0].type: Input should be" in message
    assert f"{LLTP}: documents[0].accepted_types[0]: Input should be" in message


def test_unknown_key_is_refused(data_dir: Path) -> None:
    _edit(data_dir, LLTP, lambda d: d["time_limit"].update(weeks=2))
    assert f"{LLTP}: time_limit.weeks: Extra inputs are not permitted" in _error(data_dir)


def test_unknown_agency(data_dir: Path) -> None:
    _edit(data_dir, LLTP, lambda d: d.update(agencies=["000.00.12.H19", "999.99.99.H19"]))
    assert f"{LLTP}: agencies[1]: unknown agency '999.99.99.H19'" in _error(data_dir)


def test_budgets_over_the_time_limit(data_dir: Path) -> None:
    _edit(data_dir, LLTP, lambda d: d["steps"][0].update(budget_days=9))
    assert f"{LLTP}: steps: budgets sum to 12 days" in _error(data_dir)


def test_budgets_against_hours(data_dir: Path) -> None:
    name = "procedures/dang-ky-khai-sinh.yaml"
    _edit(data_dir, name, lambda d: d["steps"][0].update(budget_days=1))
    assert f"{name}: steps: budgets sum to 1.5 days" in _error(data_dir)


def test_level_2_cannot_deliver_online(data_dir: Path) -> None:
    name = "procedures/dang-ky-trung-tam-tu-van-phap-luat.yaml"
    _edit(data_dir, name, lambda d: d.update(delivery_options=["online", "counter"]))
    assert f"{name}: delivery_options: a level 2 procedure" in _error(data_dir)


def test_fee_needs_a_payment_stage_and_its_form_field(data_dir: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["payment_stage"] = "none"
        d["fee"]["copies_field"] = "so_luong"

    _edit(data_dir, LLTP, change)
    message = _error(data_dir)
    assert f"{LLTP}: payment_stage: a procedure with a fee needs" in message
    assert f"{LLTP}: fee: reads form field 'so_luong'" in message


def test_duplicate_procedure_code(data_dir: Path) -> None:
    shutil.copy(data_dir / LLTP, data_dir / "procedures/ly-lich-tu-phap-2.yaml")
    message = _error(data_dir)
    assert "procedures/ly-lich-tu-phap-2.yaml: code: 'ly-lich-tu-phap' must equal" in message


def test_duplicate_agency_code_and_bad_parent(data_dir: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["agencies"].append(dict(d["agencies"][0], slug="khac"))
        d["agencies"][3]["parent_code"] = "000.00.77.H19"

    _edit(data_dir, "agencies.yaml", change)
    message = _error(data_dir)
    assert "agencies.yaml: agencies[6].code: duplicate agency code '000.00.12.H19'" in message
    assert "agencies.yaml: agencies[3].parent_code: unknown agency '000.00.77.H19'" in message


def test_invalid_yaml_names_the_file(data_dir: Path) -> None:
    (data_dir / LLTP).write_text("code: [unclosed\n", encoding="utf-8")
    assert f"{LLTP}: cannot read YAML" in _error(data_dir)


def test_time_limit_needs_exactly_one_unit(data_dir: Path) -> None:
    _edit(data_dir, LLTP, lambda d: d["time_limit"].update(hours=4))
    message = f"{LLTP}: time_limit: Value error, give exactly one of days, hours or same_day"
    assert message in _error(data_dir)
    _edit(data_dir, LLTP, lambda d: d["time_limit"].update(hours=None, same_day=True))
    assert message in _error(data_dir)
