"""Vendor the chart libraries of the web page from the npm registry: pinned versions, their licences.

Run it after changing a version (``make vendor-web``); the files it writes are committed, so serving the
page needs neither npm nor the internet. vega-interpreter ships only as an ES module that imports
vega-util, so it is rewritten into a classic script over the ``vega`` global (which re-exports vega-util):
with it, Vega evaluates chart expressions without ``eval``, and the page's CSP needs no 'unsafe-eval'.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

PACKAGES = {"vega": "6.4.0", "vega-lite": "6.5.0", "vega-embed": "7.3.0", "vega-interpreter": "2.3.2"}
FILES = {
    "vega": "build/vega.min.js",
    "vega-lite": "build/vega-lite.min.js",
    "vega-embed": "build/vega-embed.min.js",
}
TARGET = Path(__file__).resolve().parents[1] / "bizsql" / "web" / "static" / "vendor"
_IMPORT = re.compile(r"^import \{([^}]*)\} from 'vega-util';$", re.M)
_EXPORT = "export { expression as expressionInterpreter };"


def classic_interpreter(module_source: str) -> str:
    """The ES module as a classic script: vega-util from ``window.vega``, out as ``vegaInterpreter``."""
    match = _IMPORT.search(module_source)
    if match is None or _EXPORT not in module_source:
        raise SystemExit("vega-interpreter's build changed shape: update scripts/vendor_web.py")
    body = _IMPORT.sub(f"const {{{match.group(1)}}} = window.vega;", module_source)
    body = body.replace(_EXPORT, "window.vegaInterpreter = { expressionInterpreter: expression };")
    return f"(function () {{\n'use strict';\n{body}\n}})();\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        subprocess.run(["npm", "install", "--prefix", work, "--no-audit", "--no-fund", *specs], check=True)
        modules = Path(work) / "node_modules"
        shutil.rmtree(TARGET, ignore_errors=True)
        TARGET.mkdir(parents=True)
        for name, path in FILES.items():
            shutil.copy(modules / name / path, TARGET / Path(path).name)
        interpreter = (modules / "vega-interpreter" / "build" / "vega-interpreter.js").read_text()
        (TARGET / "vega-interpreter.js").write_text(classic_interpreter(interpreter))
        licences = []
        for name in PACKAGES:
            meta = json.loads((modules / name / "package.json").read_text())
            assert meta["version"] == PACKAGES[name], (name, meta["version"])
            text = (modules / name / "LICENSE").read_text()
            licences.append(f"{name} {meta['version']} ({meta['license']})\n\n{text.strip()}\n")
        (TARGET / "LICENSES.txt").write_text("\n\n".join(licences))
        (TARGET / "VERSIONS.json").write_text(json.dumps(PACKAGES, indent=2) + "\n")
    print(f"vendored {', '.join(specs)} into {TARGET}")


if __name__ == "__main__":
    main()
