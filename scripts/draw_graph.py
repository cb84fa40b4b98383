"""Redraw the turn graph's picture in README.md and docs/graph.md from the code.

    .venv/bin/python -m scripts.draw_graph

Each page's first ```mermaid block is replaced with ``graph.get_graph(xray=1).draw_mermaid()``, which
shows a plan step's own nodes inside ``run_step``. ``tests/unit/graph/test_builder.py`` fails when a
page's picture is not what this would write.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", ROOT / "docs" / "graph.md")
BLOCK = re.compile(r"```mermaid\n.*?```", re.DOTALL)


def drawn() -> str:
    from bizsql.graph.builder import graph

    return graph.get_graph(xray=1).draw_mermaid().rstrip("\n")


def picture(page: str) -> str | None:
    """The page's first mermaid block, without its fences."""
    found = BLOCK.search(page)
    return found.group(0)[len("```mermaid\n") : -len("```")].rstrip("\n") if found else None


def redraw(page: str, mermaid: str) -> str:
    return BLOCK.sub(lambda _: f"```mermaid\n{mermaid}\n```", page, count=1)


def main() -> None:
    mermaid = drawn()
    for path in PAGES:
        path.write_text(redraw(path.read_text(encoding="utf-8"), mermaid), encoding="utf-8")
        print(f"redrew {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
