"""The focus ring reaches 3:1 (WCAG 1.4.11) against each background it is drawn on:
the citizen and official headers, the footer, and the white pages (supervision's too)."""

from __future__ import annotations

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "dichvucong" / "static" / "css"


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def declared(css: str, selector: str, prop: str) -> str:
    rule = re.search(r"(?:^|\n)\s*" + re.escape(selector) + r"\s*\{([^}]*)\}", css)
    assert rule, f"no rule {selector}"
    value = re.search(re.escape(prop) + r"\s*:\s*(#[0-9a-fA-F]{6})", rule.group(1))
    assert value, f"{selector} sets no {prop}"
    return value.group(1)


def test_focus_ring_contrast_on_every_background() -> None:
    site = (CSS / "site.css").read_text()
    official = (CSS / "official.css").read_text()
    page_ring = declared(site, ":root", "--focus")
    header_ring = declared(site, ".site-header, .site-footer", "--focus")
    backgrounds = {
        "citizen header": declared(site, ":root", "--brand"),
        "official header": declared(official, "body.official .site-header", "background"),
        "footer": declared(site, ".site-footer", "background"),
    }
    for where, background in backgrounds.items():
        assert contrast(header_ring, background) >= 3, where
    for background in ("#ffffff", declared(site, ":root", "--bg")):
        assert contrast(page_ring, background) >= 3, background


def test_supervision_pages_keep_the_site_focus_ring() -> None:
    supervision = (CSS / "supervision.css").read_text()
    assert not re.search(r"outline\s*:[^;}]*#", supervision), "a fixed colour overrides --focus"
