"""Deterministic fake-data helpers shared by the demo businesses, so no faker library is needed."""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any, Generic, TypeVar

T = TypeVar("T")

START = date(2024, 1, 1)
END = date(2026, 10, 31)
CENT = Decimal("0.01")

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Jose", "Ashley",
    "Steven", "Emily", "Andrew", "Kimberly", "Kevin", "Donna", "Brian", "Michelle", "Luis", "Carol",
    "Wei", "Amanda", "Ryan", "Melissa", "Jacob", "Deborah", "Priya", "Stephanie", "Ahmed", "Rebecca",
    "Noah", "Sophia", "Liam", "Olivia", "Mateo", "Isabella", "Ethan", "Mia", "Hiro", "Aisha",
    "Diego", "Chloe", "Omar", "Grace", "Tyrone", "Hannah", "Raj", "Fatima", "Kenji", "Lucia",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Chen", "Patel", "Kim", "Singh", "Okafor", "Kowalski", "O'Brien", "Murphy", "Cohen", "Tanaka",
    "Silva", "Novak", "Haddad", "Schmidt", "Rossi", "Dubois", "Ivanov", "Larsen", "Moreno", "Ali",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "aol.com")

# (city, two-letter state, rough population in 100k) — the weight makes big cities show up more often.
US_CITIES: tuple[tuple[str, str, float], ...] = (
    ("New York", "NY", 84), ("Buffalo", "NY", 3), ("Rochester", "NY", 2), ("Albany", "NY", 1),
    ("Los Angeles", "CA", 39), ("San Diego", "CA", 14), ("San Jose", "CA", 10), ("San Francisco", "CA", 8),
    ("Sacramento", "CA", 5), ("Fresno", "CA", 5), ("Oakland", "CA", 4),
    ("Houston", "TX", 23), ("San Antonio", "TX", 15), ("Dallas", "TX", 13), ("Austin", "TX", 10),
    ("Fort Worth", "TX", 9), ("El Paso", "TX", 7), ("Plano", "TX", 3),
    ("Chicago", "IL", 27), ("Naperville", "IL", 1.5), ("Springfield", "IL", 1),
    ("Phoenix", "AZ", 16), ("Tucson", "AZ", 5), ("Mesa", "AZ", 5),
    ("Philadelphia", "PA", 16), ("Pittsburgh", "PA", 3),
    ("Jacksonville", "FL", 9), ("Miami", "FL", 4.5), ("Tampa", "FL", 4), ("Orlando", "FL", 3),
    ("Columbus", "OH", 9), ("Cleveland", "OH", 4), ("Cincinnati", "OH", 3),
    ("Charlotte", "NC", 9), ("Raleigh", "NC", 5), ("Indianapolis", "IN", 9),
    ("Seattle", "WA", 7.5), ("Spokane", "WA", 2), ("Denver", "CO", 7), ("Colorado Springs", "CO", 5),
    ("Boston", "MA", 6.5), ("Nashville", "TN", 7), ("Memphis", "TN", 6), ("Detroit", "MI", 6.3),
    ("Portland", "OR", 6.3), ("Las Vegas", "NV", 6.5), ("Atlanta", "GA", 5), ("Minneapolis", "MN", 4.3),
    ("Kansas City", "MO", 5), ("St. Louis", "MO", 3), ("New Orleans", "LA", 3.8), ("Salt Lake City", "UT", 2),
    ("Baltimore", "MD", 5.7), ("Milwaukee", "WI", 5.7), ("Albuquerque", "NM", 5.6), ("Omaha", "NE", 4.8),
    ("Oklahoma City", "OK", 6.8), ("Louisville", "KY", 6.2), ("Newark", "NJ", 3), ("Jersey City", "NJ", 2.9),
    ("Virginia Beach", "VA", 4.5), ("Richmond", "VA", 2.3), ("Boise", "ID", 2.3), ("Honolulu", "HI", 3.5),
    ("Anchorage", "AK", 2.9),
)  # fmt: skip


class Weighted(Generic[T]):
    """Pick from a fixed population with fixed weights; cumulative weights are built once for speed."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cum, rng.random() * self.cum[-1])]


CITY_PICKER: Weighted[tuple[str, str]] = Weighted(
    [(c, s) for c, s, _ in US_CITIES], [w for *_, w in US_CITIES]
)


def child_rng(rng: random.Random) -> random.Random:
    """An independent stream, so how far one table is read never changes another table's rows."""
    return random.Random(rng.getrandbits(64))


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def email_for(name: str, number: int, domain: str) -> str:
    """Unique because the number is the row id; apostrophes and spaces are dropped like real mail hosts do."""
    local = name.lower().replace("'", "").replace(" ", ".")
    return f"{local}{number}@{domain}"


def phone(rng: random.Random) -> str:
    return f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}"


def money(value: float) -> Decimal:
    return Decimal(value).quantize(CENT)


def to_json(value: Any) -> str:
    """jsonb goes through COPY as text; sorted keys keep the bytes stable between runs."""
    return json.dumps(value, sort_keys=True)


def all_days(start: date = START, end: date = END) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def random_day(rng: random.Random, start: date = START, end: date = END) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def at_time(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


def random_time(rng: random.Random, day: date, first_hour: int = 8, last_hour: int = 20) -> datetime:
    """A UTC moment on that day between the two hours, to the second."""
    return at_time(day, rng.randint(first_hour, last_hour - 1), rng.randint(0, 59), rng.randint(0, 59))


def seasonal_weights(
    days: Sequence[date],
    month_factor: Sequence[float],
    weekday_factor: Sequence[float],
    growth_per_year: float,
) -> list[float]:
    """Relative activity per day: a month curve (Jan..Dec), a week curve (Mon..Sun) and steady growth."""
    return [
        month_factor[d.month - 1]
        * weekday_factor[d.weekday()]
        * (1 + growth_per_year * (d - START).days / 365)
        for d in days
    ]


def spread_over_days(
    rng: random.Random, count: int, days: Sequence[date], weights: Sequence[float]
) -> list[date]:
    """Exactly `count` dates drawn with the day weights, sorted so ids follow time."""
    return sorted(rng.choices(days, cum_weights=list(accumulate(weights)), k=count))
