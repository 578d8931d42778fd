"""The README stays true: every setting is documented, every CLI command listed."""

from __future__ import annotations

from pathlib import Path

from dichvucong.cli import build_parser
from dichvucong.search_attributes import CLI_TYPES
from dichvucong.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [f"DVC_{name.upper()}" for name in Settings.model_fields
               if f"`DVC_{name.upper()}`" not in README]
    assert missing == [], f"add these settings to the README's configuration table: {missing}"


def test_every_cli_command_is_listed() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    missing = [name for name in commands if f"dichvucong {name}" not in README]
    assert missing == [], f"add these commands to the README: {missing}"


def test_every_search_attribute_is_explained() -> None:
    assert all(f"`{name}`" in README for name in CLI_TYPES)
