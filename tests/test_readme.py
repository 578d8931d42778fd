"""The README stays true: every setting is documented, every CLI command listed."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest

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


def _command_cells() -> list[str]:
    return re.findall(r"^\| `(dichvucong [^`]*)` \|", README, re.M)


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """The parser of the (sub)command the words name, deepest first."""
    for word in words:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            break
        parser = sub.choices[word]
    return parser


def test_the_command_table_brackets_exactly_the_optional_options() -> None:
    cells = _command_cells()
    assert any(cell.startswith("dichvucong report ") for cell in cells)
    for cell in cells:
        usage = cell.replace("\\|", "|")
        parser = _subparser(build_parser(), usage.split()[1:])
        for action in parser._actions:
            long = next((o for o in action.option_strings if o.startswith("--")), None)
            if long is None or long == "--help":
                continue
            found = re.search(rf"{re.escape(long)}(?![\w-])", usage)
            if found is None:
                continue
            before = usage[: found.start()]
            bracketed = before.count("[") > before.count("]")
            assert bracketed == (not action.required), (
                f"`{cell}`: {long} is {'optional' if not action.required else 'required'}"
            )


def _example_settings(monkeypatch: pytest.MonkeyPatch, assignments: str) -> Settings:
    for key in list(os.environ):
        if key.startswith("DVC_"):
            monkeypatch.delenv(key)
    for key, value in re.findall(r"\b(DVC_\w+)=(\S+)", assignments):
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_second_stack_example_moves_every_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dichvucong dev` refuses to start when one of its ports is taken: the README's
    second stack must move every port the first stack holds."""
    from dichvucong.devstack.stack import DevStack

    example = re.search(
        r"a second stack next to the first one.*?`([^`]*dichvucong dev)`", README, re.S
    )
    assert example, "the README's second-stack example is gone"
    first = DevStack(_example_settings(monkeypatch, ""))
    second_settings = _example_settings(monkeypatch, example.group(1))
    second = DevStack(second_settings)
    taken = {need.port: need for need in first.port_needs()}
    for need in second.port_needs():
        assert need.port not in taken, (
            f"{need.what} of the second stack uses port {need.port} too: set {need.env_var}"
        )
    assert second_settings.var_dir != first.settings.var_dir


def test_the_production_refusals_are_listed() -> None:
    """Every placeholder secret production refuses is named where the README says so."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            national_portal_url="https://national.example",
            vneid_issuer="https://vneid.example",
        )
    names = set(re.findall(r"DVC_[A-Z_]+", str(refused.value)))
    assert {"DVC_SECRET_KEY", "DVC_NATIONAL_CLIENT_SECRET", "DVC_VNEID_CLIENT_SECRET"} <= names
    paragraph = re.search(
        r"- `DVC_ENVIRONMENT=production`.*?production refuses\s+placeholders", README, re.S
    )
    assert paragraph, "the README's list of what production refuses is gone"
    missing = sorted(name for name in names if f"`{name}`" not in paragraph.group(0))
    assert missing == [], f"the README's production list misses {missing}"


def test_production_needs_the_gateway_and_postal_urls() -> None:
    """Their defaults are the simulators, which production does not mount: a missing
    URL stops the process at start, not every payment at run time."""
    from pydantic import ValidationError

    real = {
        "_env_file": None,
        "environment": "production",
        "secret_key": "a-real-secret-0123456789",
        "payment_secret": "p" * 32,
        "postal_secret": "q" * 32,
    }
    with pytest.raises(ValidationError) as refused:
        Settings(**real)  # type: ignore[arg-type]
    names = set(re.findall(r"DVC_[A-Z_]+", str(refused.value)))
    assert names == {"DVC_PAYMENT_GATEWAY_URL", "DVC_POSTAL_API_URL"}
    urls = {"payment_gateway_url": "https://gw.example", "postal_api_url": "https://vnpost.example"}
    assert Settings(**real, **urls).payment_gateway_url == "https://gw.example"  # type: ignore[arg-type]
    paragraph = re.search(
        r"- `DVC_ENVIRONMENT=production`.*?production refuses\s+placeholders", README, re.S
    )
    assert paragraph and all(f"`{n}`" in paragraph.group(0) for n in names)
