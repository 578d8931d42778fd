"""The CLI answers common setup mistakes with one line on stderr and exit status 2, not
a traceback: an output folder that is not there, a database not migrated yet, Temporal
not running. Run as a person runs it (a subprocess), so a traceback would show."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dichvucong.cli import main
from dichvucong.db.engine import Database
from dichvucong.settings import get_settings

TIMEOUT_SECONDS = 120


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dichvucong.cli", *args],
        cwd=cwd,  # no developer's .env
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dichvucong: ")
    return lines[0]


@pytest.fixture
def cli_env(tmp_path: Path, subprocess_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    """A database file nobody has migrated, under the test's own var dir."""
    return subprocess_env(
        DVC_VAR_DIR=str(tmp_path / "var"),
        DVC_DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'fresh.db'}",
    )


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("DVC_DATABASE_URL", "DVC_VAR_DIR", "DVC_TEMPORAL_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_report_into_a_missing_folder_stops_before_counting(
    tmp_path: Path, db: Database, cli_env: dict[str, str]
) -> None:
    cli_env["DVC_DATABASE_URL"] = db.url
    missing = tmp_path / "no-such-folder"
    result = run_cli(
        ["report", "--year", "2026", "--format", "csv", "--out", str(missing / "q.csv")],
        tmp_path,
        cli_env,
    )
    line = one_line_error(result)  # one line: not even the progress bar started
    assert str(missing) in line
    assert "không tồn tại" in line
    assert not missing.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--year", "2026", "--out", "q.xlsx"],
        [
            "create-official",
            "--username",
            "cb.moi",
            "--password",
            "x" * 12,
            "--agency",
            "000.00.12.H19",
            "--role",
            "reception",
        ],
    ],
    ids=["report", "create-official"],
)
def test_database_not_migrated_says_run_migrate(
    args: list[str], tmp_path: Path, cli_env: dict[str, str]
) -> None:
    line = one_line_error(run_cli(args, tmp_path, cli_env))
    assert "dichvucong migrate" in line
    assert not (tmp_path / "q.xlsx").exists()


def test_demo_data_with_temporal_down_names_the_setting(
    tmp_path: Path, db: Database, cli_env: dict[str, str], free_port: Callable[[], int]
) -> None:
    address = f"127.0.0.1:{free_port()}"  # nobody listens there
    cli_env.update(DVC_DATABASE_URL=db.url, DVC_TEMPORAL_ADDRESS=address)
    line = one_line_error(run_cli(["demo-data", "--cases", "1"], tmp_path, cli_env))
    assert "DVC_TEMPORAL_ADDRESS" in line
    assert address in line


@pytest.mark.usefixtures("fresh_settings")
def test_report_onto_a_folder_names_it(
    tmp_path: Path,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DVC_DATABASE_URL", db.url)
    assert main(["report", "--year", "2026", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"dichvucong: {tmp_path}: là một thư mục, cần tên tệp"


@pytest.mark.usefixtures("fresh_settings")
def test_database_that_does_not_answer_names_the_setting(
    tmp_path: Path,
    free_port: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql+psycopg://dvc:secret@127.0.0.1:{free_port()}/dvc"  # nobody listens
    monkeypatch.setenv("DVC_DATABASE_URL", url)
    assert main(["report", "--year", "2026", "--out", str(tmp_path / "q.csv")]) == 2
    err = capsys.readouterr().err
    assert "DVC_DATABASE_URL" in err
    assert "secret" not in err  # the URL's password stays out of the terminal


def test_worker_with_temporal_down_names_the_setting(
    tmp_path: Path, db: Database, cli_env: dict[str, str], free_port: Callable[[], int]
) -> None:
    address = f"127.0.0.1:{free_port()}"  # nobody listens there
    cli_env.update(DVC_DATABASE_URL=db.url, DVC_TEMPORAL_ADDRESS=address)
    line = one_line_error(run_cli(["worker"], tmp_path, cli_env))
    assert "DVC_TEMPORAL_ADDRESS" in line and address in line
