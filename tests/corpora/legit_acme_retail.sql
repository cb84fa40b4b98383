-- Legitimate analytics queries for acme_retail. One statement per block; blocks are separated by a line
-- holding only "-- ;;". Each must pass the guard and run on the demo data within the business limits.
-- ;;
SELECT count(*) FROM orders
-- ;;
SELECT status, count(*) AS orders, sum(total) AS revenue FROM orders GROUP BY status ORDER BY revenue DESC
-- ;;
SELECT date_trunc('month', order_date) AS month, sum(total) AS revenue
FROM orders WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1
-- ;;
SELECT s.name, s.city, count(o.id) AS orders, round(avg(o.total), 2) AS avg_order
FROM stores s JOIN orders o ON o.store_id = s.id
GROUP BY s.id, s.name, s.city ORDER BY orders DESC LIMIT 10
-- ;;
SELECT c.loyalty_tier, count(DISTINCT c.id) AS customers, sum(o.total) AS revenue
FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.loyalty_tier ORDER BY revenue DESC NULLS LAST
-- ;;
SELECT p.category, sum(oi.quantity * oi.unit_price) AS sales
FROM order_items oi JOIN products p ON p.id = oi.product_id
GROUP BY p.category ORDER BY sales DESC
-- ;;
SELECT p.name, sum(oi.quantity) AS units,
       rank() OVER (ORDER BY sum(oi.quantity) DESC) AS rnk
FROM order_items oi JOIN products p ON p.id = oi.product_id
GROUP BY p.id, p.name ORDER BY rnk LIMIT 20
-- ;;
WITH monthly AS (
    SELECT date_trunc('month', order_date)::date AS month, sum(total) AS revenue
    FROM orders WHERE status IN ('delivered', 'shipped') GROUP BY 1
)
SELECT month, revenue,
       revenue - lag(revenue) OVER (ORDER BY month) AS change,
       round(100.0 * (revenue - lag(revenue) OVER (ORDER BY month)) / nullif(lag(revenue) OVER (ORDER BY month), 0), 1) AS pct
FROM monthly ORDER BY month
-- ;;
SELECT store_id, order_date, total,
       sum(total) OVER (PARTITION BY store_id ORDER BY order_date, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
FROM orders WHERE store_id = 3 AND order_date < DATE '2024-03-01' ORDER BY order_date, id
-- ;;
SELECT order_date, avg(total) OVER (ORDER BY order_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS moving_avg
FROM (SELECT order_date, sum(total) AS total FROM orders GROUP BY order_date) d ORDER BY order_date DESC LIMIT 30
-- ;;
SELECT channel, status, count(*) FROM orders GROUP BY GROUPING SETS ((channel), (status), ()) ORDER BY 1, 2
-- ;;
SELECT channel, status, count(*), grouping(channel, status) AS level FROM orders GROUP BY ROLLUP (channel, status) ORDER BY 1, 2
-- ;;
SELECT store_type, channel, sum(total) FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY CUBE (store_type, channel)
-- ;;
SELECT count(*) FILTER (WHERE status = 'returned') AS returned,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) AS total
FROM orders
-- ;;
SELECT c.name, history.last_day, history.orders
FROM customers c
CROSS JOIN LATERAL (
    SELECT max(o.order_date) AS last_day, count(*) AS orders FROM orders o WHERE o.customer_id = c.id
) history
WHERE c.state = 'TX' ORDER BY history.orders DESC, c.name LIMIT 10
-- ;;
SELECT name, email FROM customers WHERE email ILIKE '%@gmail.com' AND name ILIKE 'a%' ORDER BY name LIMIT 25
-- ;;
SELECT id, notes FROM orders WHERE notes ILIKE '%drop off%' LIMIT 20
-- ;;
SELECT id, notes FROM orders WHERE notes = 'delete the gift receipt from the box' OR notes LIKE 'update:%' LIMIT 20
-- ;;
SELECT count(*) FROM orders WHERE notes ~* '\m(drop|deliver)'
-- ;;
SELECT name, attributes->>'brand' AS brand, (attributes->>'weight_kg')::numeric AS kg
FROM products WHERE attributes ? 'warranty_months' ORDER BY kg DESC NULLS LAST LIMIT 10
-- ;;
SELECT attributes->>'brand' AS brand, count(*) FROM products GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT name FROM products WHERE attributes @> '{"eco_friendly": true}' ORDER BY name
-- ;;
SELECT tag, count(*) FROM products, jsonb_array_elements_text(attributes->'tags') AS tag GROUP BY tag ORDER BY 2 DESC
-- ;;
SELECT p.name, kv.key, kv.value FROM products p, LATERAL jsonb_each(p.attributes) kv WHERE p.id = 1
-- ;;
SELECT name, attributes #>> '{tags,0}' AS first_tag, jsonb_array_length(attributes->'tags') AS tag_count FROM products LIMIT 10
-- ;;
SELECT jsonb_typeof(attributes->'sizes') AS t, count(*) FROM products GROUP BY 1
-- ;;
SELECT id, order_date, shipped_on, shipped_on - order_date AS days_to_ship FROM orders
WHERE shipped_on IS NOT NULL ORDER BY days_to_ship DESC LIMIT 10
-- ;;
SELECT avg(shipped_on - order_date) AS avg_days FROM orders WHERE channel = 'online' AND shipped_on IS NOT NULL
-- ;;
SELECT extract(year FROM order_date) AS year, extract(quarter FROM order_date) AS quarter, sum(total)
FROM orders GROUP BY 1, 2 ORDER BY 1, 2
-- ;;
SELECT to_char(order_date, 'Dy') AS weekday, extract(isodow FROM order_date) AS dow, count(*)
FROM orders GROUP BY 1, 2 ORDER BY 2
-- ;;
SELECT name, created_at, age(TIMESTAMPTZ '2026-11-01', created_at) AS tenure FROM customers ORDER BY created_at LIMIT 5
-- ;;
SELECT count(*) FROM customers WHERE created_at >= TIMESTAMPTZ '2026-10-31' - INTERVAL '90 days'
-- ;;
SELECT d::date AS day, count(o.id) AS orders
FROM generate_series(DATE '2026-10-01', DATE '2026-10-31', INTERVAL '1 day') AS d
LEFT JOIN orders o ON o.order_date = d::date GROUP BY 1 ORDER BY 1
-- ;;
SELECT date_bin(INTERVAL '7 days', paid_at, TIMESTAMPTZ '2024-01-01') AS week, sum(amount)
FROM payments GROUP BY 1 ORDER BY 1 DESC LIMIT 8
-- ;;
SELECT make_date(2025, m, 1) AS month_start FROM generate_series(1, 12) AS m
-- ;;
SELECT id, total, CASE WHEN total >= 1000 THEN 'large' WHEN total >= 200 THEN 'medium' ELSE 'small' END AS size
FROM orders ORDER BY id LIMIT 20
-- ;;
SELECT CASE WHEN total >= 1000 THEN 'large' WHEN total >= 200 THEN 'medium' ELSE 'small' END AS size, count(*)
FROM orders GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.total > 3000) ORDER BY name LIMIT 20
-- ;;
SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
-- ;;
SELECT name, price FROM products WHERE price > (SELECT avg(price) FROM products) ORDER BY price DESC
-- ;;
SELECT name FROM products WHERE id IN (SELECT product_id FROM returns GROUP BY product_id HAVING count(*) > 30)
-- ;;
SELECT name, price FROM products WHERE category = ANY (ARRAY['Electronics', 'Toys & Games']) ORDER BY price DESC LIMIT 10
-- ;;
SELECT upper(left(name, 1)) AS initial, count(*) FROM customers GROUP BY 1 ORDER BY 1
-- ;;
SELECT split_part(email, '@', 2) AS domain, count(*) FROM customers GROUP BY 1 ORDER BY 2 DESC LIMIT 10
-- ;;
SELECT sku, substring(sku FROM 1 FOR 3) AS prefix, length(name), lower(name), initcap(category) FROM products LIMIT 10
-- ;;
SELECT concat_ws(', ', city, state) AS place, count(*) FROM customers GROUP BY 1 ORDER BY 2 DESC LIMIT 10
-- ;;
SELECT trim(both ' ' FROM name) AS name, replace(phone, '-', '') AS digits FROM customers WHERE phone IS NOT NULL LIMIT 10
-- ;;
SELECT regexp_replace(sku, '[0-9]+', '#') AS pattern, count(*) FROM products GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT string_agg(name, ', ' ORDER BY name) AS stores FROM stores WHERE state = 'CA'
-- ;;
SELECT state, array_agg(DISTINCT city ORDER BY city) AS cities FROM stores GROUP BY state ORDER BY state
-- ;;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total) AS median, percentile_disc(0.9) WITHIN GROUP (ORDER BY total) AS p90 FROM orders
-- ;;
SELECT mode() WITHIN GROUP (ORDER BY method) AS most_common FROM payments
-- ;;
SELECT method, count(*), sum(amount), round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct FROM payments GROUP BY method
-- ;;
SELECT DISTINCT ON (customer_id) customer_id, id, order_date, total FROM orders ORDER BY customer_id, order_date DESC LIMIT 20
-- ;;
SELECT customer_id, ntile(4) OVER (ORDER BY sum(total)) AS quartile, sum(total) FROM orders GROUP BY customer_id ORDER BY 3 DESC LIMIT 10
-- ;;
SELECT id, order_date, lead(order_date) OVER (PARTITION BY customer_id ORDER BY order_date) - order_date AS gap_days
FROM orders WHERE customer_id = 42 ORDER BY order_date
-- ;;
SELECT store_id, first_value(id) OVER w AS first_order, last_value(id) OVER w AS last_order
FROM orders WINDOW w AS (PARTITION BY store_id ORDER BY order_date, id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
LIMIT 5
-- ;;
SELECT row_number() OVER (PARTITION BY category ORDER BY price DESC) AS rn, category, name, price FROM products ORDER BY category, rn LIMIT 30
-- ;;
SELECT * FROM (
  SELECT category, name, price, dense_rank() OVER (PARTITION BY category ORDER BY price DESC) AS r FROM products
) ranked WHERE r <= 3 ORDER BY category, r
-- ;;
SELECT e.name, e.role, s.name AS store FROM employees e JOIN stores s ON s.id = e.store_id WHERE e.terminated_on IS NULL ORDER BY s.name, e.name LIMIT 25
-- ;;
SELECT role, count(*) FILTER (WHERE terminated_on IS NULL) AS active, count(*) AS ever, round(avg(hourly_rate), 2) FROM employees GROUP BY role
-- ;;
SELECT s.name, sum(i.quantity_on_hand) AS units, count(*) FILTER (WHERE i.quantity_on_hand <= i.reorder_level) AS to_reorder
FROM inventory i JOIN stores s ON s.id = i.store_id GROUP BY s.name ORDER BY to_reorder DESC
-- ;;
SELECT p.name, s.name AS supplier, ps.supply_cost, ps.lead_time_days
FROM product_suppliers ps JOIN products p ON p.id = ps.product_id JOIN suppliers s ON s.id = ps.supplier_id
WHERE ps.is_primary ORDER BY ps.lead_time_days DESC LIMIT 15
-- ;;
SELECT s.country, count(DISTINCT s.id) AS suppliers, avg(s.rating) FILTER (WHERE s.rating IS NOT NULL) AS avg_rating
FROM suppliers s GROUP BY s.country ORDER BY suppliers DESC
-- ;;
SELECT pr.code, pr.discount_percent, count(o.id) AS uses, sum(o.total) AS revenue
FROM promotions pr LEFT JOIN orders o ON o.promotion_id = pr.id GROUP BY pr.id, pr.code, pr.discount_percent ORDER BY uses DESC
-- ;;
SELECT code FROM promotions WHERE daterange(starts_on, ends_on, '[]') && daterange(DATE '2025-11-20', DATE '2025-12-01')
-- ;;
SELECT r.reason, count(*), sum(r.refund_amount) FROM returns r GROUP BY r.reason ORDER BY 2 DESC
-- ;;
SELECT p.category, round(100.0 * sum(r.quantity) / nullif(sum(oi.quantity), 0), 2) AS return_rate
FROM products p
JOIN order_items oi ON oi.product_id = p.id
LEFT JOIN (SELECT product_id, sum(quantity) AS quantity FROM returns GROUP BY product_id) r ON r.product_id = p.id
GROUP BY p.category ORDER BY return_rate DESC NULLS LAST
-- ;;
SELECT o.id, o.total, coalesce(sum(p.amount), 0) AS paid, o.total - coalesce(sum(p.amount), 0) AS balance
FROM orders o LEFT JOIN payments p ON p.order_id = o.id
WHERE o.id BETWEEN 1000 AND 1100 GROUP BY o.id, o.total HAVING o.total <> coalesce(sum(p.amount), 0)
-- ;;
SELECT name, price, cost, price - cost AS margin, round((price - cost) / price * 100, 1) AS margin_pct FROM products ORDER BY margin_pct DESC LIMIT 10
-- ;;
SELECT category, max(price) AS most, min(price) AS least, greatest(max(price) - min(price), 0) AS spread FROM products GROUP BY category
-- ;;
SELECT state FROM customers UNION SELECT state FROM stores ORDER BY 1
-- ;;
SELECT state FROM customers INTERSECT SELECT state FROM stores ORDER BY 1
-- ;;
SELECT state FROM customers EXCEPT SELECT state FROM stores ORDER BY 1
-- ;;
(SELECT 'top' AS bucket, name, price FROM products ORDER BY price DESC LIMIT 3)
UNION ALL
(SELECT 'bottom', name, price FROM products ORDER BY price LIMIT 3)
-- ;;
VALUES ('bronze', 1), ('silver', 2), ('gold', 3), ('platinum', 4)
-- ;;
SELECT t.tier, t.rank, count(c.id) FROM (VALUES ('bronze', 1), ('silver', 2), ('gold', 3), ('platinum', 4)) AS t(tier, rank)
LEFT JOIN customers c ON c.loyalty_tier = t.tier GROUP BY t.tier, t.rank ORDER BY t.rank
-- ;;
TABLE categories
-- ;;
SELECT * FROM stores ORDER BY opened_on LIMIT 5;
-- ;;
-- a comment before the query is fine
SELECT count(*) AS active_products FROM products WHERE is_active /* only sold ones */
-- ;;
SELECT "name", "price" FROM "products" WHERE "category" = 'Toys & Games' ORDER BY "price"
-- ;;
EXPLAIN SELECT * FROM orders WHERE customer_id = 7
-- ;;
EXPLAIN (FORMAT JSON) SELECT count(*) FROM order_items
-- ;;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name
-- ;;
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position
-- ;;
WITH RECURSIVE days(d) AS (SELECT DATE '2026-10-25' UNION ALL SELECT d + 1 FROM days WHERE d < DATE '2026-10-31')
SELECT d, (SELECT count(*) FROM orders WHERE order_date = d) FROM days
-- ;;
WITH first_orders AS (
    SELECT customer_id, min(order_date) AS first_day FROM orders GROUP BY customer_id
), cohorts AS (
    SELECT date_trunc('quarter', first_day)::date AS cohort, customer_id FROM first_orders
)
SELECT cohort, count(*) AS customers FROM cohorts GROUP BY cohort ORDER BY cohort
-- ;;
WITH spend AS (SELECT customer_id, sum(total) AS spent FROM orders GROUP BY customer_id)
SELECT c.loyalty_tier, round(avg(spend.spent), 2), max(spend.spent) FROM customers c JOIN spend ON spend.customer_id = c.id GROUP BY 1
-- ;;
SELECT marketing_opt_in, count(*), round(100.0 * count(*) / (SELECT count(*) FROM customers), 1) AS pct FROM customers GROUP BY 1
-- ;;
SELECT s.state, count(DISTINCT s.id) AS stores, count(DISTINCT c.id) AS customers
FROM stores s LEFT JOIN customers c ON c.home_store_id = s.id GROUP BY s.state ORDER BY customers DESC
-- ;;
SELECT o.id, c.name, e.name AS cashier, pr.code
FROM orders o JOIN customers c ON c.id = o.customer_id
LEFT JOIN employees e ON e.id = o.employee_id LEFT JOIN promotions pr ON pr.id = o.promotion_id
WHERE o.id <= 20 ORDER BY o.id
-- ;;
SELECT o.id FROM orders o FULL OUTER JOIN payments p ON p.order_id = o.id WHERE p.id IS NULL AND o.status = 'pending' LIMIT 10
-- ;;
SELECT count(*) FROM orders o WHERE o.total > ALL (SELECT 0) AND o.store_id = SOME (SELECT id FROM stores WHERE store_type = 'online')
-- ;;
SELECT round(sum(total)::numeric, 2)::text || ' USD' AS revenue FROM orders WHERE order_date >= DATE '2026-01-01'
-- ;;
SELECT CAST(order_date AS text), total::int, total::float8 FROM orders ORDER BY id LIMIT 3
-- ;;
SELECT id, total FROM orders ORDER BY total DESC, id OFFSET 10 ROWS FETCH FIRST 10 ROWS ONLY
-- ;;
SELECT md5(email) AS hashed, length(email) FROM customers LIMIT 3
-- ;;
SELECT to_char(sum(total), 'FM999,999,999.00') AS revenue, to_char(DATE '2026-10-31', 'YYYY-MM-DD') FROM orders
-- ;;
SELECT width_bucket(total, 0, 3000, 10) AS bucket, count(*) FROM orders GROUP BY 1 ORDER BY 1
-- ;;
SELECT corr(price, cost), stddev(price), variance(cost) FROM products
-- ;;
SELECT bool_and(is_active) AS all_active, bool_or(is_active) AS any_active, every(price > 0) FROM products
-- ;;
SELECT jsonb_build_object('store', name, 'type', store_type) AS doc FROM stores LIMIT 5
-- ;;
SELECT json_agg(json_build_object('code', code, 'pct', discount_percent) ORDER BY code) FROM promotions
-- ;;
SELECT to_jsonb(s) - 'square_feet' AS store FROM stores s LIMIT 2
-- ;;
SELECT name FROM products WHERE jsonb_path_exists(attributes, '$.tags[*] ? (@ == "eco")') LIMIT 10
-- ;;
SELECT unnest(ARRAY['in_store', 'online']) AS channel
-- ;;
SELECT x.channel, count(o.id) FROM unnest(ARRAY['in_store', 'online']) AS x(channel) LEFT JOIN orders o ON o.channel = x.channel GROUP BY 1
-- ;;
SELECT cardinality(ARRAY[1, 2, 3]), array_position(ARRAY['a', 'b'], 'b'), array_to_string(ARRAY['x', 'y'], '-')
-- ;;
SELECT now() >= TIMESTAMPTZ '2020-01-01' AS sane, current_date > DATE '2020-01-01', localtimestamp IS NOT NULL
-- ;;
SELECT date_part('month', paid_at) AS m, count(*) FROM payments WHERE paid_at >= TIMESTAMPTZ '2026-01-01' GROUP BY 1 ORDER BY 1
-- ;;
SELECT justify_interval(INTERVAL '40 days 30 hours'), make_interval(days => 3), INTERVAL '1 month' + INTERVAL '2 days'
-- ;;
SELECT card_last4, count(*) FROM payments WHERE method = 'card' GROUP BY 1 ORDER BY 2 DESC LIMIT 5
-- ;;
SELECT current_setting('TimeZone') AS tz
-- ;;
SELECT generate_series(1, 5) AS n, repeat('*', 3) AS stars, lpad('7', 3, '0') AS padded
-- ;;
SELECT a.id, b.id FROM stores a JOIN stores b ON a.state = b.state AND a.id < b.id ORDER BY 1, 2 LIMIT 10
-- ;;
SELECT count(*) FROM order_items oi WHERE oi.unit_price * oi.quantity > 500 AND oi.order_id % 2 = 0
-- ;;
-- Names resolved by scope: a CTE that really shadows a table (inside it, orders is the table; after it, the CTE)
WITH orders AS (SELECT * FROM orders WHERE status = 'delivered') SELECT count(*) AS delivered FROM orders
-- ;;
WITH recent AS (SELECT customer_id, total FROM orders WHERE order_date >= DATE '2025-01-01'), top AS (SELECT customer_id, sum(total) AS spent FROM recent GROUP BY customer_id) SELECT c.name, t.spent FROM top t JOIN customers c ON c.id = t.customer_id ORDER BY t.spent DESC LIMIT 5
-- ;;
SELECT s.customer_id, s.count, s.sum FROM (SELECT customer_id, count(*), sum(total) FROM orders GROUP BY customer_id) s ORDER BY s.sum DESC LIMIT 5
-- ;;
SELECT t.month, t.revenue, lag(t.revenue) OVER (ORDER BY t.month) AS previous FROM (SELECT date_trunc('month', order_date) AS month, sum(total) AS revenue FROM orders GROUP BY 1) t ORDER BY t.month
-- ;;
SELECT p.name, kv.key, kv.value FROM products p CROSS JOIN LATERAL jsonb_each(p.attributes) AS kv WHERE p.id <= 20 ORDER BY p.id, kv.key
-- ;;
SELECT p.name, a.k FROM products p, LATERAL jsonb_object_keys(p.attributes) AS a(k) WHERE p.id <= 10
-- ;;
SELECT c.name, last.total FROM customers c CROSS JOIN LATERAL (SELECT o.total FROM orders o WHERE o.customer_id = c.id ORDER BY o.order_date DESC LIMIT 1) AS last WHERE c.id <= 10
-- ;;
SELECT v.channel, v.label, count(o.id) FROM (VALUES ('online', 'Web'), ('in_store', 'Shop')) AS v(channel, label) LEFT JOIN orders o ON o.channel = v.channel GROUP BY v.channel, v.label
-- ;;
SELECT o.id, o.total FROM orders o WHERE o.customer_id IN (VALUES (19), (112), (46)) ORDER BY o.id LIMIT 20
-- ;;
SELECT u.tag, u.n FROM unnest(ARRAY['eco', 'sale', 'new']) WITH ORDINALITY AS u(tag, n) ORDER BY u.n
-- ;;
SELECT g.d::date AS day, count(o.id) FROM generate_series(DATE '2025-01-01', DATE '2025-01-07', INTERVAL '1 day') AS g(d) LEFT JOIN orders o ON o.order_date = g.d::date GROUP BY 1 ORDER BY 1
-- ;;
SELECT u.id FROM (SELECT id FROM stores UNION SELECT store_id FROM orders WHERE id <= 100) u ORDER BY u.id LIMIT 5
-- ;;
SELECT x.status, x.n, round(100.0 * x.n / sum(x.n) OVER (), 1) AS pct FROM (SELECT status, count(*) AS n FROM orders GROUP BY status) x ORDER BY x.n DESC
-- ;;
SELECT c.state, c.name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.total > (SELECT avg(o2.total) * 5 FROM orders o2)) ORDER BY c.state LIMIT 10
-- ;;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT n.i + 1 FROM n WHERE n.i < 12) SELECT n.i AS month, count(o.id) FROM n LEFT JOIN orders o ON extract(month FROM o.order_date) = n.i GROUP BY n.i ORDER BY n.i
-- ;;
SELECT d.doc ->> 'store' AS store FROM (SELECT jsonb_build_object('store', name) AS doc FROM stores) d ORDER BY 1 LIMIT 3
-- ;;
SELECT "o"."id", "O2".total FROM orders "o" JOIN orders "O2" ON "O2".id = "o".id WHERE "o".id < 5
-- ;;
EXPLAIN (FORMAT JSON, COSTS false) SELECT count(*) FROM orders WHERE status = 'delivered'
