"""The README lists every demo business's verified questions (what works with no LLM key), exactly as
``bizsql/demo/*/queries.py`` holds them, so the list cannot drift from the code.

Rewrite the list after changing a demo business's verified queries with ``make readme-questions``
(``python -m tests.unit.test_readme_verified_questions``).
"""

from __future__ import annotations

import re
from pathlib import Path

from bizsql.demo import DEMO_BUSINESSES

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- verified-questions: generated from bizsql/demo/*/queries.py by `make readme-questions` -->"
END = "<!-- /verified-questions -->"


def render() -> str:
    """The block between the markers: one collapsed list per business."""
    parts = []
    for business in DEMO_BUSINESSES:
        questions = "\n".join(f"- {query.question}" for query in business.verified_queries)
        summary = f"<code>{business.business_id}</code>: {len(business.verified_queries)} questions"
        parts.append(f"<details><summary>{summary}</summary>\n\n{questions}\n\n</details>")
    return "\n".join(parts)


def readme_block(text: str) -> str:
    assert START in text and END in text, f"README.md has no {START} ... {END} block"
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def test_the_readme_lists_each_demo_business_s_verified_questions() -> None:
    block = readme_block(README.read_text())
    listed = {
        business_id: re.findall(r"^- (.+)$", body, re.MULTILINE)
        for business_id, body in re.findall(
            r"<code>(\w+)</code>.*?</summary>(.*?)</details>", block, re.DOTALL
        )
    }
    expected = {b.business_id: [q.question for q in b.verified_queries] for b in DEMO_BUSINESSES}
    assert listed == expected, (
        "the README's verified questions differ from the code: run make readme-questions"
    )


def test_the_readme_block_is_exactly_what_the_generator_writes() -> None:
    assert readme_block(README.read_text()) == render(), "run make readme-questions"


def main() -> None:
    """Rewrite the README's block in place (the markers must be there already)."""
    text = README.read_text()
    readme_block(text)
    head, _, rest = text.partition(START)
    tail = rest.partition(END)[2]
    README.write_text(f"{head}{START}\n{render()}\n{END}{tail}")


if __name__ == "__main__":
    main()
