"""How much of the retrieved schema the SQL prompt shows: tables in full or in brief, and glossary terms."""

from __future__ import annotations

from bizsql.config import Settings
from bizsql.retrieval.focus import asked_columns, detailed_tables, kept_tables, relevant_terms
from bizsql.retrieval.index import SchemaIndex
from bizsql.retrieval.lexical import mentions
from bizsql.retrieval.table_docs import TableDoc, render_context
from tests.unit.graph.conftest import SHOP_TABLES, FakeSource, col, fk, shop_business


def test_the_best_table_and_those_close_to_it_are_shown_in_full() -> None:
    ranked = [("customers", 1.2), ("orders", 1.0), ("stores", 0.8), ("products", 0.5)]
    assert detailed_tables(ranked, most=3, ratio=0.7) == ["customers", "orders"]
    assert detailed_tables(ranked, most=1, ratio=0.7) == ["customers"]
    assert detailed_tables(ranked, most=3, ratio=0.0) == ["customers", "orders", "stores"]
    assert detailed_tables([("customers", -0.1), ("orders", -0.2)], most=3, ratio=0.7) == ["customers"]
    assert detailed_tables([], most=3, ratio=0.7) == []


def test_a_weak_table_stays_only_when_it_joins_a_table_shown_in_full() -> None:
    ranked = [("orders", 1.2), ("suppliers", 0.5), ("customers", 0.4), ("products", 0.9)]
    adjacency = {"orders": {"customers"}, "customers": {"orders"}}
    kept = kept_tables(ranked, ["orders"], adjacency, floor=0.55)
    assert kept == ["orders", "customers", "products"], "suppliers neither joins orders nor scores near it"
    assert kept_tables([("orders", -0.2), ("stores", -0.3)], [], {}, floor=0.55) == ["orders"], (
        "the best table stays whatever its score"
    )


def test_glossary_terms_come_when_asked_about_or_defined_over_a_table_in_full() -> None:
    glossary = {
        "revenue": "sum(orders.total) for shipped orders",
        "average order value (AOV)": "avg(orders.total)",
        "low stock": "inventory rows at or below the reorder level",
        "visit": "an appointment with status = 'completed'",
        "active customer": "a customer who ordered in the last 90 days",
    }
    named = {"revenue": ("orders",), "average order value (AOV)": ("orders",), "low stock": ("inventory",)}
    assert relevant_terms(glossary, named, ["stores"], "How many stores are in Texas?") == []
    assert relevant_terms(glossary, named, ["orders"], "Orders per month") == [
        "revenue", "average order value (AOV)"
    ]  # fmt: skip
    assert relevant_terms(glossary, named, ["stores"], "What is our AOV?") == ["average order value (AOV)"]
    assert relevant_terms(glossary, named, ["stores"], "How many active customers?") == ["active customer"]
    assert relevant_terms(glossary, named, ["appointments"], "Visits per doctor") == ["visit"]
    assert relevant_terms(glossary, named, ["appointments"], "Appointments per doctor") == ["visit"], (
        "a definition about a table shown in full, in words rather than by its exact name"
    )
    assert relevant_terms(glossary, named, ["customers"], "Customers per state") == ["active customer"]


def test_columns_the_question_names_or_whose_values_it_uses() -> None:
    customers = TableDoc(
        "customers",
        (
            col("id", "integer", "", "1", "2"),
            col("loyalty_tier", "text", "bronze < silver < gold < platinum", "platinum", "gold"),
            col("state", "text", "", "TX", "CA"),
            col("notes", "text", "", "please call before delivery, the gate code is 4"),
            col("visits", "integer", "", "3", "12"),
        ),
    )
    assert asked_columns(customers, "Average order value of gold customers") == ["loyalty_tier"]
    assert asked_columns(customers, "Customers per loyalty tier") == ["loyalty_tier"]
    assert asked_columns(customers, "How many customers in CA?") == ["state"]
    assert asked_columns(customers, "Who should we call before delivery?") == [], "free text never matches"
    assert asked_columns(customers, "Customers with 3 orders and id 12") == [], "ids and numbers never do"


def test_a_brief_table_keeps_the_notes_of_the_columns_asked_about() -> None:
    customers = TableDoc(
        "customers",
        (col("id"), col("loyalty_tier", "text", "bronze < gold", "gold"), col("city", "text", "", "Austin")),
        primary_key=("id",),
    )
    shown = render_context([customers], detailed=(), asked={"customers": ["loyalty_tier"]})
    assert shown.endswith("\n  -- loyalty_tier: bronze < gold; e.g. 'gold'")
    assert "Austin" not in shown
    private = render_context([customers], detailed=(), asked={"customers": ["loyalty_tier"]}, privacy=True)
    assert private.endswith("\n  -- loyalty_tier: bronze < gold")


def test_a_term_is_mentioned_in_any_word_form_or_by_its_abbreviation() -> None:
    assert mentions("Which products are in low stock?", "low stock")
    assert mentions("how many active customers did we have", "active customer")
    assert mentions("AOV by month", "average order value (AOV)")
    assert not mentions("What was the average order size?", "average order value (AOV)")


def test_a_brief_table_shows_its_columns_and_keys_on_one_line() -> None:
    orders = next(t for t in SHOP_TABLES if t.name == "orders")
    brief = render_context([orders], detailed=())
    assert brief == (
        "TABLE orders -- One row per order\n"
        "  id integer PRIMARY KEY, customer_id integer REFERENCES customers(id), order_date date,"
        " total numeric"
    )
    full = render_context([orders])
    assert full.startswith("TABLE orders -- One row per order\n  id integer PRIMARY KEY\n")
    assert len(brief) < len(full)


def test_sample_values_are_shown_only_where_they_say_more_than_the_type() -> None:
    table = TableDoc(
        "shipments",
        (
            col("id", "integer", "", "1", "2"),
            col("carrier_id", "integer", "", "7", "9"),
            col("status", "text", "where it is", "in_transit", "delivered"),
            col("weight_kg", "numeric(8,2)", "", "12.50"),
            col("shipped_on", "date", "", "2024-01-01"),
            col("created_at", "timestamp with time zone", "", "2024-01-01T10:00:00+00:00"),
            col("fragile", "boolean", "", "true", "false"),
            col("country_code", "char(2)", "", "DE", "FR"),
        ),
        primary_key=("id",),
        foreign_keys=(fk("carrier_id", "carriers"), fk("country_code", "countries")),
    )
    shown = render_context([table])
    assert "status text  -- where it is; e.g. 'in_transit', 'delivered'" in shown
    assert "weight_kg numeric(8,2)  -- e.g. '12.50'" in shown
    assert "REFERENCES countries(id)  -- e.g. 'DE', 'FR'" in shown, "a text key's values show its form"
    for quiet in ("'1'", "'7'", "'2024-01-01'", "'2024-01-01T10", "'true'"):
        assert quiet not in shown, quiet
    assert "e.g." not in render_context([table], privacy=True), "privacy mode shows no row values"


async def test_retrieval_says_which_tables_to_show_in_full_and_which_terms(unit_settings: Settings) -> None:
    index = SchemaIndex(unit_settings, FakeSource())
    business = shop_business(glossary={"revenue": "sum of orders.total", "bestseller": "a product we sell"})
    found = await index.retrieve(business, "What was the revenue of each order?")
    assert found.detailed[0] == "orders" and set(found.detailed) <= set(found.names)
    assert found.terms == ["revenue"]
    unrelated = await index.retrieve(business, "Which employees were hired in 2024?")
    assert unrelated.detailed[0] == "employees" and "orders" not in unrelated.detailed
    assert unrelated.terms == []
