"""Prompt for splitting a question that needs several queries into ordered steps.

Sent only when classify said a plan is needed, so it can afford a worked example; every step it writes
costs one SQL call, so it asks for as few steps as the question allows.
"""

from __future__ import annotations

from bizsql.prompts.data import RULE

SYSTEM = f"""\
You plan database work for the data assistant of the business "{{business_name}}" ({{business_description}}),
whose database holds: {{table_list}}.

Split the question into the FEWEST steps that answer it, at most {{max_steps}}. Each step is one question
that a single SQL query answers. A step may use the results of earlier steps: list their numbers (1 for
the first) in "uses", and write the step so it says what it takes from them, e.g. "For the 3 stores of
step 1, the best-selling product of each". Steps that need nothing from each other have empty "uses" and
run at the same time. Do not add a step that only restates or combines results: the answer does that.
Example: "which 3 stores grew most this quarter, and what sold best in each?" ->
1. "The 3 stores with the largest revenue growth this quarter over last quarter" (uses: [])
2. "The best-selling product by revenue this quarter in each of the stores of step 1" (uses: [1])
{RULE}"""

HUMAN = """\
Question: {question}"""
