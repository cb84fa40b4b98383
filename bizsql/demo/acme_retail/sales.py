"""Two years of Acme Retail sales day by day, and generate(), which streams every table in load order."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

from bizsql.demo import fake
from bizsql.demo.acme_retail.data import (
    Customer,
    Product,
    Row,
    Store,
    build_customers,
    build_employees,
    build_products,
    build_promotions,
    build_stores,
    category_rows,
    inventory_rows,
    product_supplier_rows,
    supplier_rows,
)
from bizsql.demo.acme_retail.schema import ORDER_COUNT, TABLES
from bizsql.demo.acme_retail.words import CATEGORY_SEASON, ONLINE_STORE_ID, ORDER_NOTES, RETURN_REASONS
from bizsql.demo.spec import TableData


class Sales:
    """Orders with their items, payments and returns, built together so totals always match the items."""

    def __init__(
        self,
        rng: random.Random,
        products: list[Product],
        stores: list[Store],
        customers: list[Customer],
        weights: list[float],
        employees: list[Row],
        promotions: list[Row],
    ) -> None:
        self.rng = rng
        self.products = products
        self.stores = {s.id: s for s in stores}
        self.customers = customers
        self.signup_days = [c.created_at.date() for c in customers]
        self.customer_cum = list(accumulate(weights))
        top = sorted(weights)[-12]
        self.bulk_buyers = {c.id for c, w in zip(customers, weights, strict=True) if w >= top}
        self.clerks: dict[int, list[Row]] = {}
        for e in employees:
            if e[4] in ("sales_associate", "cashier"):
                self.clerks.setdefault(e[1], []).append(e)
        self.promotions = promotions
        ranks = list(range(1, len(products) + 1))
        rng.shuffle(ranks)
        self.pickers = [self._product_picker(month, ranks) for month in range(1, 13)]
        self.orders: list[Row] = []
        self.items: list[Row] = []
        self.payments: list[Row] = []
        self.returns: list[Row] = []

    def _product_picker(self, month: int, ranks: list[int]) -> fake.Weighted[Product]:
        """Zipf-like popularity by a fixed random rank, bent by the category's season."""
        weights = [
            CATEGORY_SEASON.get(p.category, {}).get(month, 1.0) / rank**0.55
            for p, rank in zip(self.products, ranks, strict=True)
        ]
        return fake.Weighted(self.products, weights)

    def build(self) -> None:
        days = fake.all_days()
        weights = fake.seasonal_weights(
            days,
            (0.8, 0.75, 0.9, 0.9, 1.0, 0.95, 1.0, 1.05, 0.9, 0.95, 1.45, 1.8),
            (0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.1),
            0.18,
        )
        weights = [w * (1.4 if self._promotion_on(d) else 1.0) for d, w in zip(days, weights, strict=True)]
        for day in fake.spread_over_days(self.rng, ORDER_COUNT, days, weights):
            self._order(len(self.orders) + 1, day)

    def _promotion_on(self, day: date) -> Row | None:
        return next((p for p in self.promotions if p[4] <= day <= p[5]), None)

    def _customer(self, day: date) -> Customer:
        eligible = max(bisect_right(self.signup_days, day), 1)
        target = self.rng.random() * self.customer_cum[eligible - 1]
        return self.customers[bisect_right(self.customer_cum, target, hi=eligible - 1)]

    def _order(self, order_id: int, day: date) -> None:
        rng = self.rng
        customer = self._customer(day)
        home = self.stores.get(customer.home_store_id or 0)
        in_store = home is not None and home.opened_on <= day and rng.random() < 0.65
        store = home if in_store and home else self.stores[ONLINE_STORE_ID]
        promo = self._promotion_on(day)
        promo = promo if promo and rng.random() < 0.35 else None
        items = self._items(order_id, day, customer, promo[3] if promo else 0)
        total = sum((q * price for _, _, _, q, price in items), Decimal("0.00"))
        status, shipped = self._status(in_store, day)
        note = rng.choice(ORDER_NOTES) if rng.random() < (0.02 if in_store else 0.12) else None
        clerk = self._clerk(store.id, day) if in_store else None
        self.orders.append(
            (
                order_id,
                customer.id,
                store.id,
                clerk,
                promo[0] if promo else None,
                day,
                "in_store" if in_store else "online",
                status,
                total,
                shipped,
                note,
            )
        )
        self.items.extend(items)
        if status in ("shipped", "delivered", "returned"):
            self._pay(order_id, day, total, in_store)
        if status == "returned":
            self._return(order_id, shipped or day, items)

    def _items(self, order_id: int, day: date, customer: Customer, discount: int) -> list[Row]:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4, 5), (20, 30, 27, 15, 8))[0]
        bulk = customer.id in self.bulk_buyers and rng.random() < 0.5
        chosen: dict[int, Product] = {}
        picker = self.pickers[day.month - 1]
        while len(chosen) < count:
            p = picker.pick(rng)
            if p.launched_on <= day:
                chosen[p.id] = p
        factor = Decimal(100 - discount) / 100
        rows: list[Row] = []
        for p in chosen.values():
            quantity = rng.randint(2, 10) if bulk else rng.choices((1, 2, 3, 4, 6), (70, 20, 6, 3, 1))[0]
            rows.append(
                (
                    len(self.items) + len(rows) + 1,
                    order_id,
                    p.id,
                    quantity,
                    (p.price * factor).quantize(fake.CENT),
                )
            )
        return rows

    def _status(self, in_store: bool, day: date) -> tuple[str, date | None]:
        rng = self.rng
        if in_store:
            return rng.choices(("delivered", "returned", "cancelled"), (93, 4, 3))[0], None
        age = (fake.END - day).days
        if age <= 2:
            status = rng.choices(("pending", "shipped", "cancelled"), (70, 25, 5))[0]
        elif age <= 7:
            status = rng.choices(("pending", "shipped", "delivered", "cancelled"), (10, 60, 25, 5))[0]
        else:
            status = rng.choices(("delivered", "returned", "cancelled"), (88, 6, 6))[0]
        if status in ("pending", "cancelled"):
            return status, None
        return status, min(day + timedelta(days=rng.randint(0, 3)), fake.END)

    def _clerk(self, store_id: int, day: date) -> int | None:
        clerks = self.clerks.get(store_id, [])
        for _ in range(4):
            e = self.rng.choice(clerks)
            if e[5] <= day and (e[6] is None or e[6] >= day):
                return int(e[0])
        return None

    def _pay(self, order_id: int, day: date, total: Decimal, in_store: bool) -> None:
        rng = self.rng
        methods = (
            (("card", "cash", "gift_card", "apple_pay"), (60, 25, 5, 10))
            if in_store
            else (("card", "paypal", "gift_card", "apple_pay"), (70, 20, 5, 5))
        )
        paid_at = fake.random_time(rng, day, 9, 22)
        if total > 60 and rng.random() < 0.04:
            gift = Decimal(rng.choice((25, 50)))
            self._payment(order_id, paid_at, "gift_card", gift)
            self._payment(order_id, paid_at, "card", total - gift)
        else:
            self._payment(order_id, paid_at, rng.choices(*methods)[0], total)

    def _payment(self, order_id: int, paid_at: Any, method: str, amount: Decimal) -> None:
        last4 = f"{self.rng.randint(0, 9999):04d}" if method == "card" else None
        self.payments.append((len(self.payments) + 1, order_id, paid_at, method, amount, last4))

    def _return(self, order_id: int, since: date, items: list[Row]) -> None:
        rng = self.rng
        returned_on = min(since + timedelta(days=rng.randint(2, 30)), fake.END)
        for item in rng.sample(items, rng.randint(1, len(items))):
            quantity = rng.randint(1, item[3])
            reason, restock = rng.choice(RETURN_REASONS)
            self.returns.append(
                (
                    len(self.returns) + 1,
                    order_id,
                    item[2],
                    returned_on,
                    quantity,
                    quantity * item[4],
                    reason,
                    restock,
                )
            )


def generate(rng: random.Random) -> Iterator[TableData]:
    """All thirteen tables, parents first; each table draws from its own stream of the business seed."""
    streams = {name: fake.child_rng(rng) for name in TABLES}
    suppliers = supplier_rows(streams["suppliers"])
    products = build_products(streams["products"])
    stores = build_stores()
    employees = build_employees(streams["employees"], stores)
    customers, weights = build_customers(streams["customers"], stores)
    promotions = build_promotions()
    yield TableData("categories", ("id", "name", "department", "description"), category_rows())
    yield TableData("suppliers", ("id", "name", "contact_email", "country", "rating", "is_active"), suppliers)
    yield TableData("products", Product._fields, products)
    yield TableData(
        "product_suppliers",
        ("product_id", "supplier_id", "supply_cost", "lead_time_days", "is_primary"),
        product_supplier_rows(streams["product_suppliers"], products, len(suppliers)),
    )
    yield TableData("stores", Store._fields, stores)
    yield TableData(
        "employees",
        ("id", "store_id", "name", "email", "role", "hired_on", "terminated_on", "hourly_rate"),
        employees,
    )
    yield TableData("customers", Customer._fields, customers)
    yield TableData(
        "promotions", ("id", "code", "description", "discount_percent", "starts_on", "ends_on"), promotions
    )
    yield TableData(
        "inventory",
        ("id", "store_id", "product_id", "quantity_on_hand", "reorder_level", "last_restocked_on"),
        inventory_rows(streams["inventory"], stores, products),
    )
    sales = Sales(streams["orders"], products, stores, customers, weights, employees, promotions)
    sales.build()
    yield TableData(
        "orders",
        (
            "id",
            "customer_id",
            "store_id",
            "employee_id",
            "promotion_id",
            "order_date",
            "channel",
            "status",
            "total",
            "shipped_on",
            "notes",
        ),
        sales.orders,
    )
    yield TableData("order_items", ("id", "order_id", "product_id", "quantity", "unit_price"), sales.items)
    yield TableData(
        "payments", ("id", "order_id", "paid_at", "method", "amount", "card_last4"), sales.payments
    )
    yield TableData(
        "returns",
        ("id", "order_id", "product_id", "returned_on", "quantity", "refund_amount", "reason", "restocked"),
        sales.returns,
    )
