"""The depots, cities, companies, vehicles and prices Swift Logistics' data is drawn from."""

from __future__ import annotations

from datetime import date

# code, city, state, latitude, longitude, opened, dock doors, share of shippers
DEPOTS: tuple[tuple[str, str, str, float, float, date, int, float], ...] = (
    ("DAL", "Dallas", "TX", 32.78, -96.80, date(2009, 3, 2), 64, 12),
    ("HOU", "Houston", "TX", 29.76, -95.37, date(2011, 6, 6), 52, 11),
    ("LAX", "Los Angeles", "CA", 34.05, -118.24, date(2010, 9, 13), 72, 14),
    ("OAK", "Oakland", "CA", 37.80, -122.27, date(2014, 4, 7), 38, 7),
    ("CHI", "Chicago", "IL", 41.88, -87.63, date(2008, 1, 14), 68, 12),
    ("ATL", "Atlanta", "GA", 33.75, -84.39, date(2012, 2, 20), 48, 9),
    ("EWR", "Newark", "NJ", 40.74, -74.17, date(2013, 8, 19), 56, 11),
    ("PHX", "Phoenix", "AZ", 33.45, -112.07, date(2016, 5, 2), 30, 6),
    ("DEN", "Denver", "CO", 39.74, -104.99, date(2017, 10, 9), 28, 5),
    ("SEA", "Seattle", "WA", 47.61, -122.33, date(2015, 7, 27), 34, 6),
    ("MEM", "Memphis", "TN", 35.15, -90.05, date(2018, 3, 5), 44, 4),
    ("CMH", "Columbus", "OH", 39.96, -83.00, date(2019, 11, 4), 26, 3),
)
# the depots' nearby cities, used for customer sites and delivery addresses
NEARBY: dict[str, tuple[tuple[str, str], ...]] = {
    "DAL": (("Dallas", "TX"), ("Fort Worth", "TX"), ("Plano", "TX"), ("Oklahoma City", "OK")),
    "HOU": (("Houston", "TX"), ("San Antonio", "TX"), ("Austin", "TX"), ("New Orleans", "LA")),
    "LAX": (("Los Angeles", "CA"), ("San Diego", "CA"), ("Las Vegas", "NV"), ("Fresno", "CA")),
    "OAK": (("Oakland", "CA"), ("San Francisco", "CA"), ("San Jose", "CA"), ("Sacramento", "CA")),
    "CHI": (("Chicago", "IL"), ("Naperville", "IL"), ("Milwaukee", "WI"), ("Indianapolis", "IN")),
    "ATL": (("Atlanta", "GA"), ("Charlotte", "NC"), ("Jacksonville", "FL"), ("Orlando", "FL")),
    "EWR": (("Newark", "NJ"), ("New York", "NY"), ("Jersey City", "NJ"), ("Philadelphia", "PA")),
    "PHX": (("Phoenix", "AZ"), ("Mesa", "AZ"), ("Tucson", "AZ"), ("Albuquerque", "NM")),
    "DEN": (("Denver", "CO"), ("Colorado Springs", "CO"), ("Salt Lake City", "UT"), ("Omaha", "NE")),
    "SEA": (("Seattle", "WA"), ("Portland", "OR"), ("Spokane", "WA"), ("Boise", "ID")),
    "MEM": (("Memphis", "TN"), ("Nashville", "TN"), ("Louisville", "KY"), ("St. Louis", "MO")),
    "CMH": (("Columbus", "OH"), ("Cincinnati", "OH"), ("Cleveland", "OH"), ("Pittsburgh", "PA")),
}
# fmt: off
INDUSTRIES = ("retail", "manufacturing", "food & beverage", "healthcare", "automotive", "e-commerce",
              "agriculture", "electronics")
COMPANY_WORDS = (
    ("Apex", "Blue Ridge", "Cascade", "Delta", "Evergreen", "Frontier", "Granite", "Horizon", "Ironclad",
     "Juniper", "Keystone", "Lakeside", "Meridian", "Northstar", "Oakmont", "Pinnacle", "Quarry", "Riverbend",
     "Sierra", "Tidewater", "Union", "Vantage", "Westfield", "Yellowstone", "Zenith"),
    ("Foods", "Industries", "Outfitters", "Medical", "Motors", "Supply", "Home", "Electronics", "Farms",
     "Brands", "Goods", "Components"),
    ("Inc.", "LLC", "Co.", "Group", "Corp."),
)
# fmt: on
# vehicle type -> makes and models, fuel types with weights, capacity kg, km per day, litres or kWh per 100 km
VEHICLE_TYPES: dict[
    str, tuple[tuple[tuple[str, str], ...], tuple[tuple[str, float], ...], int, int, float]
] = {
    "cargo_van": (
        (("Ford", "Transit 250"), ("Mercedes-Benz", "Sprinter 2500"), ("Rivian", "EDV 700")),
        (("gasoline", 55), ("diesel", 25), ("electric", 20)),
        1_600,
        160,
        13.5,
    ),
    "box_truck": (
        (("Isuzu", "NPR-HD"), ("Freightliner", "M2 106"), ("Hino", "L6")),
        (("diesel", 85), ("gasoline", 15)),
        4_500,
        210,
        24.0,
    ),
    "semi_truck": (
        (("Freightliner", "Cascadia"), ("Volvo", "VNL 760"), ("Kenworth", "T680")),
        (("diesel", 100),),
        20_000,
        520,
        35.0,
    ),
    "refrigerated_truck": (
        (("Freightliner", "M2 112 Reefer"), ("Isuzu", "FTR Reefer")),
        (("diesel", 100),),
        9_000,
        300,
        30.0,
    ),
}
SERVICE_LEVELS = {  # base price USD, USD per kg, promised days (None = by distance)
    "standard": (18.0, 0.55, None),
    "express": (35.0, 0.95, 2),
    "overnight": (60.0, 1.60, 1),
    "freight": (220.0, 0.16, None),
}
INSTRUCTIONS_TEXT = (
    "call receiver 30 min before arrival",
    "liftgate required",
    "deliver to loading dock B",
    "fragile - do not stack",
    "keep refrigerated between 2-8 C",
    "signature required",
    "drop off at back door",
    "update receiver if delayed",
    "no deliveries before 9am",
)
INCIDENT_TEXT = {
    "damage": "Packaging crushed; contents damaged on arrival.",
    "delay": "Shipment missed its linehaul departure and arrived late.",
    "lost": "Shipment not scanned since departure; declared lost after search.",
    "accident": "Vehicle involved in a road accident; goods transferred to another truck.",
    "address_issue": "Consignee address incomplete; delivery attempt failed.",
    "refused": "Consignee refused delivery.",
}
MAINTENANCE_COST = {  # kind of work -> cost range in USD, downtime range in hours
    "oil_change": ((120, 420), (1, 3)),
    "tire_rotation": ((60, 180), (1, 2)),
    "tire_replacement": ((700, 4200), (2, 6)),
    "brake_service": ((350, 1800), (3, 10)),
    "inspection": ((90, 300), (1, 4)),
    "engine_repair": ((1800, 14000), (16, 120)),
    "transmission_repair": ((2500, 9000), (24, 96)),
    "battery_service": ((300, 6500), (2, 24)),
}
VENDORS = (
    "Swift In-House Garage",
    "Swift In-House Garage",
    "Rush Truck Centers",
    "TA Truck Service",
    "Penske Service",
    "Fleet Pride Service",
)
