"""What Acme Retail's config tells the model: glossary, instructions and verified queries."""

from __future__ import annotations

from bizsql.demo.spec import VerifiedQuery

GLOSSARY = {
    "revenue": (
        "sum(orders.total) for orders with status IN ('shipped', 'delivered'); "
        "returned, cancelled and pending orders are not revenue"
    ),
    "order value": "orders.total, the sum of quantity * unit_price over the order's order_items",
    "average order value (AOV)": "avg(orders.total) over revenue orders (status IN ('shipped', 'delivered'))",
    "units sold": "sum(order_items.quantity) over items of orders with status IN ('shipped', 'delivered')",
    "active customer": (
        "a customer with at least one order (any status except 'cancelled') in the 90 days "
        "before the date asked about; the data ends on 2026-10-31"
    ),
    "new customer": "a customer whose customers.created_at falls in the period asked about",
    "gross margin": "sum(order_items.quantity * (order_items.unit_price - products.cost)) for revenue orders",
    "return rate": (
        "orders with status = 'returned' divided by orders with status "
        "IN ('shipped', 'delivered', 'returned')"
    ),
    "low stock": "inventory rows where quantity_on_hand <= reorder_level",
    "online sales": "orders with channel = 'online' (fulfilled by the store named 'Acme Online')",
}
INSTRUCTIONS = (
    "Money is in USD. Exclude cancelled, pending and returned orders from revenue unless the user asks "
    "for them. Use orders.order_date for when a sale happened and customers.state (two-letter codes such "
    "as 'TX') for where customers live; stores.state is where a store is. The data runs from 2024-01-01 "
    "to 2026-10-31, so 'this year' means 2026 and 'last year' means 2025. Product details such as brand "
    "live in the products.attributes jsonb column (attributes->>'brand')."
)


def _q(question: str, sql: str) -> VerifiedQuery:
    return VerifiedQuery(question, sql.strip())


VERIFIED_QUERIES = (
    _q(
        "How many orders were placed in each month of 2025?",
        """
SELECT date_trunc('month', order_date)::date AS month, count(*) AS orders
FROM orders
WHERE order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "Top 5 customers by revenue in 2025?",
        """
SELECT c.id, c.name, c.city, c.state, sum(o.total) AS revenue
FROM orders o
JOIN customers c ON c.id = o.customer_id
WHERE o.status IN ('shipped', 'delivered')
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY c.id, c.name, c.city, c.state
ORDER BY revenue DESC, c.id
LIMIT 5
""",
    ),
    _q(
        "Revenue by customer state in 2025",
        """
SELECT c.state, sum(o.total) AS revenue, count(*) AS orders
FROM orders o
JOIN customers c ON c.id = o.customer_id
WHERE o.status IN ('shipped', 'delivered')
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY c.state
ORDER BY revenue DESC, c.state
""",
    ),
    _q(
        "Which product categories sell best?",
        """
SELECT p.category, sum(oi.quantity) AS units_sold, sum(oi.quantity * oi.unit_price) AS revenue
FROM order_items oi
JOIN orders o ON o.id = oi.order_id
JOIN products p ON p.id = oi.product_id
WHERE o.status IN ('shipped', 'delivered')
GROUP BY p.category
ORDER BY revenue DESC, p.category
""",
    ),
    _q(
        "How many customers live in Texas?",
        """
SELECT count(*) AS customers
FROM customers
WHERE state = 'TX'
""",
    ),
    _q(
        "What was the average order value online versus in store in 2025?",
        """
SELECT channel, round(avg(total), 2) AS average_order_value, count(*) AS orders
FROM orders
WHERE status IN ('shipped', 'delivered')
  AND order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'
GROUP BY channel
ORDER BY channel
""",
    ),
    _q(
        "Show monthly revenue in 2025 with the change from the previous month",
        """
WITH monthly AS (
    SELECT date_trunc('month', order_date)::date AS month, sum(total) AS revenue
    FROM orders
    WHERE status IN ('shipped', 'delivered')
      AND order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'
    GROUP BY 1
)
SELECT month, revenue, revenue - lag(revenue) OVER (ORDER BY month) AS change_from_previous_month
FROM monthly
ORDER BY month
""",
    ),
    _q(
        "Top 10 products by units sold in 2025",
        """
SELECT p.id, p.name, p.category, sum(oi.quantity) AS units_sold
FROM order_items oi
JOIN orders o ON o.id = oi.order_id
JOIN products p ON p.id = oi.product_id
WHERE o.status IN ('shipped', 'delivered')
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY p.id, p.name, p.category
ORDER BY units_sold DESC, p.id
LIMIT 10
""",
    ),
    _q(
        "Which stores had the highest in-store revenue in 2025?",
        """
SELECT s.name, s.city, s.state, sum(o.total) AS revenue
FROM orders o
JOIN stores s ON s.id = o.store_id
WHERE o.channel = 'in_store' AND o.status IN ('shipped', 'delivered')
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY s.id, s.name, s.city, s.state
ORDER BY revenue DESC, s.id
LIMIT 10
""",
    ),
    _q(
        "What is the return rate of each product category?",
        """
WITH category_orders AS (
    SELECT DISTINCT p.category, o.id, o.status
    FROM orders o
    JOIN order_items oi ON oi.order_id = o.id
    JOIN products p ON p.id = oi.product_id
    WHERE o.status IN ('shipped', 'delivered', 'returned')
)
SELECT category,
       round(100.0 * count(*) FILTER (WHERE status = 'returned') / count(*), 2) AS return_rate_percent
FROM category_orders
GROUP BY category
ORDER BY return_rate_percent DESC, category
""",
    ),
    _q(
        "Which products are at or below their reorder level at the Houston store?",
        """
SELECT p.name, i.quantity_on_hand, i.reorder_level
FROM inventory i
JOIN stores s ON s.id = i.store_id
JOIN products p ON p.id = i.product_id
WHERE s.name = 'Acme Houston' AND i.quantity_on_hand <= i.reorder_level
ORDER BY i.quantity_on_hand, p.name, p.id
""",
    ),
    _q(
        "How many orders were cancelled in each quarter of 2025?",
        """
SELECT extract(quarter FROM order_date)::int AS quarter, count(*) AS cancelled_orders
FROM orders
WHERE status = 'cancelled' AND order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "Which promotion codes brought in the most revenue?",
        """
SELECT pr.code, pr.discount_percent, count(*) AS orders, sum(o.total) AS revenue
FROM orders o
JOIN promotions pr ON pr.id = o.promotion_id
WHERE o.status IN ('shipped', 'delivered')
GROUP BY pr.id, pr.code, pr.discount_percent
ORDER BY revenue DESC, pr.code
LIMIT 10
""",
    ),
    _q(
        "Who is the top customer in each state by 2025 revenue?",
        """
WITH spend AS (
    SELECT c.state, c.id, c.name, sum(o.total) AS revenue,
           row_number() OVER (PARTITION BY c.state ORDER BY sum(o.total) DESC, c.id) AS rank_in_state
    FROM orders o
    JOIN customers c ON c.id = o.customer_id
    WHERE o.status IN ('shipped', 'delivered')
      AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
    GROUP BY c.state, c.id, c.name
)
SELECT state, id AS customer_id, name, revenue
FROM spend
WHERE rank_in_state = 1
ORDER BY revenue DESC, state
""",
    ),
    _q(
        "How many customers have never placed an order?",
        """
SELECT count(*) AS customers_without_orders
FROM customers c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
""",
    ),
    _q(
        "Which brands have the most products in the catalog?",
        """
SELECT attributes->>'brand' AS brand, count(*) AS products
FROM products
GROUP BY 1
ORDER BY products DESC, brand
""",
    ),
    _q(
        "How was 2025 revenue split across payment methods?",
        """
SELECT pa.method, sum(pa.amount) AS amount, count(DISTINCT pa.order_id) AS orders
FROM payments pa
JOIN orders o ON o.id = pa.order_id
WHERE o.status IN ('shipped', 'delivered')
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY pa.method
ORDER BY amount DESC, pa.method
""",
    ),
    _q(
        "What was the gross margin by department in 2025?",
        """
SELECT ca.department, sum(oi.quantity * (oi.unit_price - p.cost)) AS gross_margin
FROM order_items oi
JOIN orders o ON o.id = oi.order_id
JOIN products p ON p.id = oi.product_id
JOIN categories ca ON ca.id = p.category_id
WHERE o.status IN ('shipped', 'delivered')
  AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'
GROUP BY ca.department
ORDER BY gross_margin DESC, ca.department
""",
    ),
)
