"""The chat page's files: small enough to load fast, every script local, every vendored library pinned
and shipped with its licence."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bizsql.web.routes import STATIC
from scripts.vendor_web import FILES, PACKAGES

PAGE_BUDGET_BYTES = 300_000
"""The page's own HTML, CSS and JS, uncompressed; the chart libraries are outside it."""


def page_files() -> list[Path]:
    return [p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts]


def test_the_page_itself_weighs_under_its_budget() -> None:
    weight = sum(p.stat().st_size for p in page_files())
    assert {p.suffix for p in page_files()} == {".html", ".css", ".js"}
    assert weight < PAGE_BUDGET_BYTES, f"{weight} bytes"


def test_every_file_the_page_loads_is_served_from_this_origin() -> None:
    html = (STATIC / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded and all(path.startswith(("/static/", "#", "data:")) for path in loaded), loaded
    for path in loaded:
        if path.startswith("/static/"):
            assert (STATIC / path.removeprefix("/static/")).is_file(), path
    scripts = "".join(p.read_text() for p in STATIC.joinpath("js").glob("*.js"))
    assert "innerHTML" not in scripts and "insertAdjacentHTML" not in scripts and "eval(" not in scripts


def test_the_vendored_libraries_are_the_pinned_ones_with_their_licences() -> None:
    vendor = STATIC / "vendor"
    assert json.loads((vendor / "VERSIONS.json").read_text()) == PACKAGES
    licences = (vendor / "LICENSES.txt").read_text()
    for name, version in PACKAGES.items():
        assert f"{name} {version} (BSD-3-Clause)" in licences
    for path in FILES.values():
        assert (vendor / Path(path).name).stat().st_size > 10_000
    interpreter = (vendor / "vega-interpreter.js").read_text()
    assert "import " not in interpreter.split("\n", 3)[2] and "window.vegaInterpreter" in interpreter
