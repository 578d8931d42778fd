"""The supervisor's pages as markup: keyboard-reachable scroll regions on the
dashboard, a heading outline that follows the sections, one h1 on the printable
report, and a staff header (never the citizen's sign-in links)."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import optional_principal
from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes import supervision, supervision_pages
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.reports import build_report
from dichvucong.settings import Settings
from tests.stats.known_data import A, make_db

SUPERVISOR = Principal(
    kind="official", id=1, name="Giám sát tỉnh", agency_code=A, roles=("supervisor",)
)
Q2_2027 = {"from": "2027-04-01", "to": "2027-06-30"}


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each heading."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.headings: list[tuple[str, str]] = []
        self._heading: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = tag
            self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)

    def having(self, tag: str, **attrs: str) -> Iterator[dict[str, str]]:
        for name, values in self.tags:
            if name == tag and all(values.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                yield values

    def ids(self) -> set[str]:
        return {values["id"] for _, values in self.tags if "id" in values}


def nav_links(html: str) -> list[str]:
    header = html.split("<header", 1)[1].split("</header>", 1)[0]
    return [a["href"] for a in Tags(header).having("a")]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = make_db(tmp_path)
    app = FastAPI()
    app.state.settings = Settings(database_url=db.url, var_dir=tmp_path, task_queue="dossiers")
    app.state.db = db
    app.state.catalog = load_catalog()
    app.state.calendar = WorkCalendar()
    install_problem_handlers(app)
    app.include_router(supervision.router, prefix="/api/v1")
    app.include_router(supervision_pages.router)
    app.dependency_overrides[optional_principal] = lambda: SUPERVISOR
    yield TestClient(app)
    db.dispose()


def test_dashboard_scroll_areas_are_named_focusable_regions(client: TestClient) -> None:
    page = client.get("/giam-sat", params=Q2_2027)
    assert page.status_code == 200, page.text
    tags = Tags(page.text)
    scrolls = [values for tag, values in tags.tags if "scroll" in values.get("class", "").split()]
    # The overdue list, the agency and procedure breakdowns, the period's indicators.
    assert len(scrolls) >= 4
    for values in scrolls:
        assert values.get("tabindex") == "0" and values.get("role") == "region", values
        assert values.get("aria-labelledby") in tags.ids(), values


def test_dashboard_case_lists_sit_under_the_current_situation(client: TestClient) -> None:
    tags = Tags(client.get("/giam-sat", params=Q2_2027).text)
    levels = dict((text.strip(), level) for level, text in tags.headings)
    assert levels["Tình hình hiện tại"] == "h2"
    assert levels["Hồ sơ đang quá hạn"] == "h3"
    assert levels["Hồ sơ đến hạn trong 3 ngày làm việc"] == "h3"
    assert levels["Hồ sơ chờ công dân bổ sung"] == "h3"
    assert [level for level, _ in tags.headings].count("h1") == 1


def test_dashboard_header_is_the_staff_one(client: TestClient) -> None:
    html = client.get("/giam-sat", params=Q2_2027).text
    links = nav_links(html)
    assert "/giam-sat" in links and "/can-bo" in links
    assert "/dang-nhap" not in links and "/dang-ky" not in links
    assert next(Tags(html).having("a", href="/giam-sat", aria_current="page"), None) is not None


def test_printable_report_has_one_h1_and_an_h2_per_agency(client: TestClient) -> None:
    page = client.get("/api/v1/reports", params={"year": 2027, "quarter": 2, "format": "html"})
    assert page.status_code == 200, page.text
    tags = Tags(page.text)
    levels = [level for level, _ in tags.headings]
    sections = list(tags.having("section", **{"class": "report-section"}))
    assert levels.count("h1") == 1
    assert levels.count("h2") == len(sections) > 1
    named = {text.strip() for level, text in tags.headings if level == "h2"}
    assert "Toàn tỉnh Đồng Nai" in named
    assert "/dang-nhap" not in nav_links(page.text) and "/dang-ky" not in nav_links(page.text)


def test_printable_report_header_names_the_supervisor(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    try:
        with db.session() as session:
            report = build_report(session, load_catalog(), WorkCalendar(), 2027, 2, None)
    finally:
        db.dispose()
    html = supervision_pages.render_report(report, principal=SUPERVISOR).body.decode()
    header = html.split("</header>", 1)[0]
    assert "Giám sát tỉnh" in header
    assert "/giam-sat" in nav_links(html)
