"""Sector and field filters compare Vietnamese names as NFC + casefold, so a name
typed in NFD (some keyboards, macOS browsers) or in other case still matches; two
procedures with the same national code are a catalog error."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.catalog import router
from dichvucong.catalog import Catalog, CatalogError, load_catalog
from dichvucong.catalog.loader import DEFAULT_DATA_DIR
from dichvucong.catalog.search import name_key, same_name

LLTP = "ly-lich-tu-phap"
HO_TICH = {"dang-ky-khai-sinh", "dang-ky-ket-hon", "cap-ban-sao-trich-luc-ho-tich"}


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _edit(data_dir: Path, code: str, **values: str) -> None:
    path = data_dir / "procedures" / f"{code}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.update(values)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_name_key() -> None:
    assert nfd("Tư pháp") != "Tư pháp"  # the test means something
    assert name_key(nfd("tư pháp")) == name_key("Tư pháp") == name_key("TƯ PHÁP")
    assert name_key("  Tư   pháp ") == name_key("Tư pháp")
    assert unicodedata.is_normalized("NFC", name_key(nfd("HỘ TỊCH")))
    assert same_name(nfd("Hộ Tịch"), "Hộ tịch")
    assert not same_name("Tu phap", "Tư pháp")  # diacritics still count in a filter


@pytest.mark.parametrize("typed", [nfd("tư pháp"), "TƯ PHÁP", nfd("TƯ PHÁP"), "tư pháp"])
def test_sector_filter_ignores_unicode_form_and_case(catalog: Catalog, typed: str) -> None:
    assert {p.code for p in catalog.search(sector=typed)} == set(catalog.procedures)
    found = catalog.search(sector=typed, admin_level="province", q=nfd("lý lịch"))
    assert found and found[0].code == LLTP


@pytest.mark.parametrize("typed", [nfd("hộ tịch"), "HỘ TỊCH", nfd("Hộ tịch")])
def test_field_filter_ignores_unicode_form_and_case(catalog: Catalog, typed: str) -> None:
    assert {p.code for p in catalog.search(field=typed)} >= HO_TICH
    assert set(catalog.fields(sector=nfd("tư pháp"))) == set(catalog.fields())


def test_filters_still_tell_names_apart(catalog: Catalog) -> None:
    assert catalog.search(sector="Tu phap") == []
    assert catalog.search(field="Ho tich") == []
    assert catalog.fields(sector="Không có") == []


def test_sectors_lists_one_spelling_per_name(data_dir: Path) -> None:
    _edit(data_dir, "dang-ky-khai-sinh", sector=nfd("Tư pháp"), field=nfd("Hộ tịch"))
    catalog = load_catalog(data_dir)
    assert catalog.sectors() == ["Tư pháp"]
    assert len([f for f in catalog.fields() if same_name(f, "Hộ tịch")]) == 1
    assert {p.code for p in catalog.search(sector="Tư pháp")} == set(catalog.procedures)
    assert {p.code for p in catalog.search(field="Hộ tịch")} >= HO_TICH


def test_api_sector_and_field_filters() -> None:
    app = FastAPI()
    app.state.catalog = load_catalog()
    install_problem_handlers(app)
    app.include_router(router, prefix="/api/v1")
    client = TestClient(app)
    body = client.get("/api/v1/procedures", params={"sector": nfd("tư pháp")}).json()
    assert body["total"] == len(load_catalog().procedures)
    body = client.get("/api/v1/procedures", params={"field": nfd("LÝ LỊCH TƯ PHÁP")}).json()
    assert [i["code"] for i in body["items"]] == [LLTP]


def test_shipped_catalog_has_no_duplicate_national_code(catalog: Catalog) -> None:
    codes = [p.national_code for p in catalog.procedures.values() if p.national_code]
    assert len(codes) == len(set(codes))


def test_duplicate_national_code_is_a_catalog_error(data_dir: Path) -> None:
    _edit(data_dir, "dang-ky-ket-hon", national_code="2.000488")
    with pytest.raises(CatalogError) as info:
        load_catalog(data_dir)
    problems = [p for p in info.value.problems if "national_code" in p]
    assert problems == [
        "procedures/ly-lich-tu-phap.yaml: national_code: duplicate national code "
        "'2.000488', also in procedures/dang-ky-ket-hon.yaml"
    ]
