"""A scripted three-step plan on acme_retail for the stub Mistral server: the first two steps need
nothing from each other (they run at once), the third takes the first one's store ids as literals."""

from __future__ import annotations

import re
from typing import Any

from tests.support.stub_mistral import Reply, text, tool

QUESTION = "Which 3 stores sold the most in 2025, and how many staff does each of them have?"
TOP_STORES = "The 3 stores with the highest order total in 2025"
STAFF = "The number of employees per store"
STAFF_OF_TOP = "The number of employees of each store of step 1"
TOP_STORES_SQL = (
    "SELECT s.id, s.name, sum(o.total) AS revenue FROM orders AS o JOIN stores AS s ON s.id = o.store_id "
    "WHERE o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01' "
    "GROUP BY s.id, s.name ORDER BY revenue DESC LIMIT 3"
)
STAFF_SQL = "SELECT store_id, count(*) AS employees FROM employees GROUP BY store_id ORDER BY store_id"


def staff_of(ids: list[int]) -> str:
    listed = ", ".join(str(i) for i in ids)
    return (
        "SELECT e.store_id, count(*) AS employees FROM employees AS e "
        f"WHERE e.store_id IN ({listed}) GROUP BY e.store_id ORDER BY e.store_id"
    )


def question_of(request: dict[str, Any]) -> str:
    return str(request["messages"][1]["content"].rsplit("Question: ", 1)[1]).strip()


def ids_in_earlier_steps(request: dict[str, Any]) -> list[int]:
    """What a model reads off the 'Earlier steps' block: the first column of step 1's rows."""
    prompt = request["messages"][0]["content"]
    block = prompt.split("Earlier steps of this question", 1)[1].split("</data>", 1)[0]
    rows = block.split("id | name | revenue", 1)[1].strip().splitlines()
    return [int(re.match(r"\d+", row).group()) for row in rows if re.match(r"\d+ \|", row)]  # type: ignore[union-attr]


def step_sql(request: dict[str, Any]) -> Reply:
    """The SQL call of any step, answered by its question: the steps may arrive in either order."""
    asked = question_of(request)
    if asked == TOP_STORES:
        return tool("SqlDraft", sql=TOP_STORES_SQL, confidence=0.9, explanation="top stores")
    if asked == STAFF:
        return tool("SqlDraft", sql=STAFF_SQL, confidence=0.9, explanation="staff per store")
    assert asked == STAFF_OF_TOP, asked
    return tool("SqlDraft", sql=staff_of(ids_in_earlier_steps(request)), confidence=0.8, explanation="x")


def planned() -> list[Any]:
    return [
        tool("Classification", intent="database", standalone_question=QUESTION, needs_plan=True),
        tool(
            "PlanDraft",
            steps=[
                {"question": TOP_STORES, "uses": []},
                {"question": STAFF, "uses": []},
                {"question": STAFF_OF_TOP, "uses": [1]},
            ],
        ),
        step_sql,
        step_sql,
        step_sql,
        text("The three biggest stores have between 10 and 20 staff each."),
    ]
