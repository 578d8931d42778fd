"""The banner of `make run` lists every address the README's "What `make run` shows"
table promises, so the two cannot drift apart again."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dichvucong.devstack.stack import DevStack
from dichvucong.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_addresses() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## What `make run` shows", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| <(http[^>]+)>", section, flags=re.MULTILINE)


def test_banner_prints_every_address_of_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name in [n for n in os.environ if n.startswith("DVC_")]:
        monkeypatch.delenv(name)
    stack = DevStack(Settings(var_dir=tmp_path))  # the defaults the README shows

    stack._print_banner()

    banner = capsys.readouterr().out
    addresses = readme_addresses()
    assert "http://127.0.0.1:8000/giam-sat" in addresses
    for address in addresses:
        assert re.search(rf"\s{re.escape(address.rstrip('/'))}/?\s", banner), address
    assert "Bảng giám sát (supervisor's dashboard)" in banner
