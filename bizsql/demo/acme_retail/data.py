"""Acme Retail's reference tables (catalog, suppliers, stores, staff, customers, promotions, stock)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from bizsql.demo import fake
from bizsql.demo.acme_retail.schema import CUSTOMER_COUNT
from bizsql.demo.acme_retail.words import (
    BRANDS,
    CATEGORIES,
    COLORS,
    ONLINE_STAFF,
    ONLINE_STORE_ID,
    ROLE_STAFF,
    STORE_CITIES,
    SUPPLIER_COUNTRIES,
    SUPPLIER_WORDS,
    TAGS,
    VARIANTS,
)

Row = tuple[Any, ...]


class Product(NamedTuple):
    id: int
    sku: str
    name: str
    category_id: int
    category: str
    price: Decimal
    cost: Decimal
    attributes: str
    is_active: bool
    launched_on: date


class Store(NamedTuple):
    id: int
    name: str
    store_type: str
    city: str
    state: str
    opened_on: date
    square_feet: int | None


class Customer(NamedTuple):
    id: int
    name: str
    email: str
    phone: str | None
    city: str
    state: str
    created_at: Any
    loyalty_tier: str
    marketing_opt_in: bool
    home_store_id: int | None


def category_rows() -> list[Row]:
    return [
        (i, name, dept, f"{name} in the {dept} department, priced ${lo:.0f}-${hi:.0f}.")
        for i, (name, dept, lo, hi, _) in enumerate(CATEGORIES, start=1)
    ]


def supplier_rows(rng: random.Random, count: int = 40) -> list[Row]:
    names: list[str] = []
    while len(names) < count:
        name = " ".join(rng.choice(words) for words in SUPPLIER_WORDS)
        if name not in names:
            names.append(name)
    rows: list[Row] = []
    for i, name in enumerate(names, start=1):
        slug = name.split()[0].lower() + name.split()[1].lower().rstrip(".")
        rating = None if rng.random() < 0.1 else rng.choices([1, 2, 3, 4, 5], [1, 2, 5, 8, 5])[0]
        rows.append(
            (i, name, f"sales@{slug}.example.com", SUPPLIER_COUNTRIES.pick(rng), rating, rng.random() > 0.08)
        )
    return rows


def _attributes(rng: random.Random, category: str, brand: str) -> str:
    attrs: dict[str, Any] = {
        "brand": brand,
        "color": rng.choice(COLORS),
        "weight_kg": round(rng.uniform(0.05, 12.0), 2),
        "eco_friendly": rng.random() < 0.25,
        "tags": sorted(rng.sample(TAGS, rng.randint(0, 2))),
    }
    if category == "Electronics":
        attrs["warranty_months"] = rng.choice([12, 12, 24, 36])
    elif category in ("Apparel", "Footwear"):
        attrs["sizes"] = ["S", "M", "L", "XL"] if category == "Apparel" else ["7", "8", "9", "10", "11", "12"]
        attrs["material"] = rng.choice(["cotton", "polyester", "wool", "leather", "recycled nylon"])
    elif category == "Grocery":
        attrs["organic"] = rng.random() < 0.4
    elif category == "Toys & Games":
        attrs["min_age"] = rng.choice([3, 5, 8, 12])
    return fake.to_json(attrs)


def _launch_day(rng: random.Random) -> date:
    """Most of the catalog existed on day one; the rest launches steadily until late summer 2026."""
    return fake.START if rng.random() < 0.7 else fake.random_day(rng, date(2024, 2, 1), date(2026, 8, 31))


def build_products(rng: random.Random) -> list[Product]:
    products: list[Product] = []
    seen: set[str] = set()
    for cat_id, (category, _, lo, hi, bases) in enumerate(CATEGORIES, start=1):
        for base in bases:
            for brand in rng.sample(BRANDS, rng.randint(3, 6)):
                name = f"{brand} {base}{rng.choice(VARIANTS)}"
                if name in seen:
                    continue
                seen.add(name)
                price = Decimal(int(lo * (hi / lo) ** rng.random())) + Decimal("0.99")
                pid = len(products) + 1
                products.append(
                    Product(
                        pid,
                        f"{category[:3].upper()}-{pid:04d}",
                        name,
                        cat_id,
                        category,
                        price,
                        fake.money(float(price) * rng.uniform(0.42, 0.7)),
                        _attributes(rng, category, brand),
                        rng.random() > 0.05,
                        _launch_day(rng),
                    )
                )
    return products


def product_supplier_rows(rng: random.Random, products: list[Product], supplier_count: int) -> Iterator[Row]:
    for p in products:
        for n, supplier in enumerate(rng.sample(range(1, supplier_count + 1), rng.choice([1, 1, 2, 2, 3]))):
            cost = fake.money(float(p.cost) * rng.uniform(0.92, 1.08))
            yield (p.id, supplier, cost, rng.choice([3, 5, 7, 10, 14, 21, 30, 45, 60]), n == 0)


def build_stores() -> list[Store]:
    stores = [Store(ONLINE_STORE_ID, "Acme Online", "online", "Austin", "TX", date(2014, 1, 6), None)]
    for i, (city, state, kind, opened) in enumerate(STORE_CITIES, start=2):
        size = {"flagship": 42_000, "mall": 18_000, "outlet": 24_000}[kind] + (i * 733) % 5000
        stores.append(Store(i, f"Acme {city}", kind, city, state, opened, size))
    return stores


def build_employees(rng: random.Random, stores: list[Store]) -> list[Row]:
    rows: list[Row] = []
    for store in stores:
        staff = ONLINE_STAFF if store.store_type == "online" else ROLE_STAFF
        for role, (low, high, pay_lo, pay_hi) in staff.items():
            for _ in range(rng.randint(low, high)):
                rows.append(_employee(rng, len(rows) + 1, store, role, pay_lo, pay_hi))
    return rows


def _employee(rng: random.Random, eid: int, store: Store, role: str, pay_lo: float, pay_hi: float) -> Row:
    name = fake.person_name(rng)
    hired = fake.random_day(rng, max(store.opened_on, date(2018, 1, 1)), date(2026, 9, 30))
    left = None
    if role != "store_manager" and rng.random() < 0.18 and hired < date(2026, 9, 1):
        left = fake.random_day(rng, hired + timedelta(days=30), fake.END)
    email = fake.email_for(name, eid, "acme-retail.example")
    return (eid, store.id, name, email, role, hired, left, fake.money(rng.uniform(pay_lo, pay_hi)))


def _home_store(city: str, state: str, stores: list[Store]) -> int | None:
    same_state = [s for s in stores if s.state == state and s.store_type != "online"]
    same_city = [s for s in same_state if s.city == city]
    chosen = same_city or same_state
    return chosen[0].id if chosen else None


def build_customers(rng: random.Random, stores: list[Store]) -> tuple[list[Customer], list[float]]:
    """Customers in signup order, and a heavy-tailed spending weight for each (a few big accounts)."""
    early = [fake.random_day(rng, fake.START, date(2024, 1, 31)) for _ in range(CUSTOMER_COUNT * 3 // 10)]
    later_days = fake.all_days(date(2024, 2, 1), date(2026, 9, 30))
    later = fake.spread_over_days(
        rng,
        CUSTOMER_COUNT - len(early),
        later_days,
        [1.0 + i / len(later_days) for i in range(len(later_days))],
    )
    weights = [min(rng.paretovariate(1.6), 30.0) for _ in range(CUSTOMER_COUNT)]
    for big in rng.sample(range(200), 12):
        weights[big] *= 6
    cutoffs = sorted(weights)
    tiers = (
        (cutoffs[int(0.95 * len(cutoffs))], "platinum"),
        (cutoffs[int(0.8 * len(cutoffs))], "gold"),
        (cutoffs[int(0.5 * len(cutoffs))], "silver"),
    )
    customers = []
    for i, day in enumerate(sorted(early) + later, start=1):
        name = fake.person_name(rng)
        city, state = fake.CITY_PICKER.pick(rng)
        tier = next((t for cut, t in tiers if weights[i - 1] >= cut), "bronze")
        customers.append(
            Customer(
                i,
                name,
                fake.email_for(name, i, rng.choice(fake.EMAIL_DOMAINS)),
                fake.phone(rng) if rng.random() < 0.7 else None,
                city,
                state,
                fake.random_time(rng, day, 0, 24),
                tier,
                rng.random() < 0.45,
                _home_store(city, state, stores),
            )
        )
    return customers, weights


def build_promotions() -> list[Row]:
    plans = (
        ("NEWYEAR", "New year sale", 10, (1, 1), 7),
        ("SPRING", "Spring refresh", 15, (3, 20), 14),
        ("MEMORIAL", "Memorial Day weekend", 20, (5, 24), 4),
        ("SUMMER", "Summer sale", 20, (7, 1), 14),
        ("BACK2SCHOOL", "Back to school", 10, (8, 1), 20),
        ("LABORDAY", "Labor Day weekend", 15, (8, 30), 4),
        ("BFRIDAY", "Black Friday doorbusters", 30, (11, 26), 5),
        ("CYBER", "Cyber Monday online deals", 25, (12, 1), 2),
        ("HOLIDAY", "Holiday gift event", 15, (12, 10), 15),
    )
    rows: list[Row] = []
    for year in (2024, 2025, 2026):
        for code, text, pct, (month, day), length in plans:
            start = date(year, month, day)
            if start > fake.END:
                continue
            rows.append(
                (
                    len(rows) + 1,
                    f"{code}{year % 100}",
                    f"{text} {year}",
                    pct,
                    start,
                    start + timedelta(days=length - 1),
                )
            )
    return rows


def inventory_rows(rng: random.Random, stores: list[Store], products: list[Product]) -> Iterator[Row]:
    row_id = 0
    for store in stores:
        online = store.store_type == "online"
        for p in products:
            if not online and (rng.random() > 0.72 or not p.is_active):
                continue
            row_id += 1
            on_hand = int(rng.expovariate(1 / (600 if online else 80))) if rng.random() > 0.04 else 0
            restocked = fake.random_day(rng, max(p.launched_on, date(2026, 6, 1)), fake.END)
            yield (row_id, store.id, p.id, on_hand, rng.randint(5, 25) * (8 if online else 1), restocked)
