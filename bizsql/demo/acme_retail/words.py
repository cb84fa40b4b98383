"""The names, prices and places Acme Retail's data is drawn from; fixed, so the data is reproducible."""

from __future__ import annotations

from datetime import date

from bizsql.demo import fake

# fmt: off
# name, department, price range in USD, base product names
CATEGORIES: tuple[tuple[str, str, float, float, tuple[str, ...]], ...] = (
    ("Electronics", "Technology", 15, 450, ("Wireless Earbuds", "Bluetooth Speaker", "USB-C Charger",
                                            "Smart Watch", "27in Monitor", "Mechanical Keyboard", "Webcam",
                                            "Power Bank")),
    ("Home & Kitchen", "Home", 9, 220, ("Chef Knife", "Nonstick Skillet", "Coffee Maker", "Blender",
                                        "Cutting Board", "Dutch Oven", "Electric Kettle", "Toaster")),
    ("Furniture", "Home", 45, 650, ("Desk Chair", "Bookshelf", "Side Table", "Floor Lamp", "TV Stand")),
    ("Apparel", "Fashion", 12, 140, ("T-Shirt", "Hoodie", "Denim Jacket", "Running Shorts", "Rain Jacket",
                                     "Wool Socks")),
    ("Footwear", "Fashion", 25, 180, ("Running Shoes", "Hiking Boots", "Sandals", "Sneakers")),
    ("Sports & Outdoors", "Leisure", 10, 320, ("Yoga Mat", "Dumbbell Set", "Camping Tent", "Water Bottle",
                                               "Bike Helmet")),
    ("Toys & Games", "Leisure", 8, 90, ("Building Blocks", "Board Game", "1000 Piece Puzzle", "Plush Bear",
                                        "RC Car")),
    ("Beauty", "Everyday", 5, 60, ("Face Moisturizer", "Shampoo", "Lip Balm", "Sunscreen SPF 50")),
    ("Grocery", "Everyday", 3, 30, ("Ground Coffee", "Green Tea", "Olive Oil", "Dark Chocolate", "Granola")),
    ("Books & Stationery", "Leisure", 4, 45, ("Cookbook", "Mystery Novel", "Notebook", "Weekly Planner")),
    ("Pet Supplies", "Everyday", 6, 80, ("Dog Food", "Cat Litter", "Chew Toy", "Pet Bed")),
    ("Office", "Technology", 3, 120, ("Gel Pens", "Desk Organizer", "Printer Paper", "Stapler")),
    ("Garden", "Home", 6, 140, ("Garden Hose", "Planter", "Pruning Shears", "Seed Starter Kit")),
)
# category -> month -> how much more it sells than usual
CATEGORY_SEASON: dict[str, dict[int, float]] = {
    "Toys & Games": {11: 2.2, 12: 3.0},
    "Electronics": {11: 1.6, 12: 1.8},
    "Garden": {3: 1.8, 4: 2.2, 5: 2.2, 6: 1.6},
    "Sports & Outdoors": {5: 1.5, 6: 1.7, 7: 1.7, 8: 1.4},
    "Apparel": {9: 1.3, 10: 1.4, 11: 1.3},
}
BRANDS = ("Acme", "Nova", "Summit", "Pulse", "Evergreen", "Harbor", "Atlas", "Lumen", "Cedar & Co",
          "Brightline")
VARIANTS = ("", "", "", " Pro", " Mini", " Plus", " Classic", " XL", " Lite")
COLORS = ("black", "white", "gray", "navy", "red", "green", "blue", "beige", "olive", "pink")
TAGS = ("bestseller", "new", "gift idea", "eco", "limited", "online exclusive", "clearance")
# city, state, store type, opening day
STORE_CITIES: tuple[tuple[str, str, str, date], ...] = (
    ("New York", "NY", "flagship", date(2012, 4, 2)), ("Los Angeles", "CA", "flagship", date(2013, 9, 14)),
    ("Chicago", "IL", "flagship", date(2014, 5, 10)), ("Houston", "TX", "flagship", date(2015, 3, 21)),
    ("Dallas", "TX", "mall", date(2016, 8, 6)), ("Austin", "TX", "mall", date(2017, 2, 18)),
    ("San Antonio", "TX", "outlet", date(2018, 6, 30)), ("San Diego", "CA", "mall", date(2016, 11, 5)),
    ("San Francisco", "CA", "mall", date(2015, 10, 3)), ("San Jose", "CA", "outlet", date(2019, 4, 13)),
    ("Buffalo", "NY", "outlet", date(2020, 9, 19)), ("Phoenix", "AZ", "mall", date(2017, 7, 22)),
    ("Philadelphia", "PA", "mall", date(2016, 4, 9)), ("Miami", "FL", "mall", date(2018, 12, 1)),
    ("Orlando", "FL", "outlet", date(2019, 11, 16)), ("Seattle", "WA", "mall", date(2017, 10, 28)),
    ("Denver", "CO", "mall", date(2018, 3, 17)), ("Boston", "MA", "mall", date(2019, 5, 4)),
    ("Atlanta", "GA", "mall", date(2020, 2, 29)), ("Nashville", "TN", "mall", date(2021, 6, 12)),
    ("Columbus", "OH", "mall", date(2022, 8, 20)), ("Portland", "OR", "mall", date(2024, 9, 14)),
    ("Charlotte", "NC", "mall", date(2025, 3, 8)), ("Las Vegas", "NV", "outlet", date(2025, 11, 20)),
)
# role -> fewest and most per physical store, hourly pay range in USD
ROLE_STAFF = {
    "store_manager": (1, 1, 34.0, 46.0), "assistant_manager": (1, 2, 24.0, 31.0),
    "sales_associate": (6, 14, 15.0, 21.0), "cashier": (3, 6, 14.0, 18.0), "stock_clerk": (2, 4, 15.0, 19.0),
}
ONLINE_STAFF = {"store_manager": (1, 1, 36.0, 44.0), "support_agent": (8, 12, 17.0, 23.0)}
# some notes hold SQL keywords on purpose, so SQL-guard tests have real literals to trip over
ORDER_NOTES = (
    "drop off at back door", "leave with the front desk", "please call before delivery; gate code 4417",
    "do not leave package outside", "gift wrap please - it's a birthday present",
    "update: deliver after 5pm", "delete the gift receipt from the box", "select a sturdy box, fragile items",
    "insert a note card: Happy Anniversary!", "grant access via lobby intercom",
    "ring bell twice; dog inside", "drop table lamp carefully, glass shade",
)
# reason, whether the item can go back on the shelf
RETURN_REASONS = (
    ("wrong size", True), ("changed my mind", True), ("damaged in transit", False), ("defective", False),
    ("item not as described", True), ("arrived too late", True), ("better price elsewhere", True),
)
SUPPLIER_WORDS = (
    ("Pacific", "Great Lakes", "Lone Star", "Blue Ridge", "Golden Gate", "Northwind", "Redwood", "Prairie",
     "Keystone", "Silverline", "Ironwood", "Sunrise", "Harborview", "Mesa", "Evergreen"),
    ("Trading", "Supply", "Manufacturing", "Imports", "Goods", "Distribution", "Wholesale", "Textiles",
     "Electronics", "Foods"),
    ("Co.", "Inc.", "LLC", "Ltd."),
)
# fmt: on
SUPPLIER_COUNTRIES = fake.Weighted(
    ["United States", "China", "Mexico", "Vietnam", "Canada", "Germany", "India", "Japan"],
    [40, 22, 10, 8, 7, 5, 5, 3],
)
ONLINE_STORE_ID = 1
