"""The shop's production database for Lab 06: roles, schema, a few thousand rows, a small staging
copy, and each night's business (new orders, their items and payments)."""

from __future__ import annotations

from ..paths import LABS
from ..postgres import Postgres

LAB = LABS / "06-backup-restore"
SCALE = {"customers": 2000, "catalog": 300, "orders": 5000}  # order_items: two per order
ORDERS_PER_NIGHT = 40
SEED = [
    "INSERT INTO customers SELECT g, 'customer' || g || '@example.com', now() - g * interval '1 hour'"
    " FROM generate_series(1, %(customers)s) g",
    "INSERT INTO catalog SELECT 'SKU-' || lpad(g::text, 5, '0'), 'Item ' || g, 100 + (g * 37) %% 9900"
    " FROM generate_series(1, %(catalog)s) g",
]
TRADE = [  # one business day: new orders with two items each (and their payments, once that table exists)
    "INSERT INTO orders SELECT m.top + g, 1 + ((m.top + g) * 7919) %% %(customers)s,"
    " now() - (%(orders)s - g) * interval '1 minute', 0"
    " FROM generate_series(1, %(orders)s) g, (SELECT coalesce(max(id), 0) AS top FROM orders) m",
    "INSERT INTO order_items SELECT o.id, 'SKU-' || lpad((1 + (o.id * 31 + k) %% %(catalog)s)::text, 5, '0'), 1 + k"
    " FROM orders o, generate_series(0, 1) k WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
    "UPDATE orders o SET total_cents = s.total FROM (SELECT i.order_id, sum(i.qty * c.price_cents) AS total"
    " FROM order_items i JOIN catalog c USING (sku) GROUP BY 1) s WHERE s.order_id = o.id AND o.total_cents = 0",
]
PAY = ("INSERT INTO payments SELECT o.id, o.id, o.total_cents, o.placed_at + interval '5 minutes' FROM orders o"
       " WHERE o.id %% 5 <> 0 AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id)")


def trade(prod: Postgres, scale: dict[str, int]) -> None:
    """The shop's business day: new orders (for the customers and catalog of scale), items, payments."""
    with prod.connect("shop") as conn:
        params = {"orders": ORDERS_PER_NIGHT, "customers": scale["customers"], "catalog": scale["catalog"]}
        for statement in TRADE:
            conn.execute(statement, params)
        if conn.execute("SELECT to_regclass('public.payments')").fetchone()[0]:
            conn.execute(PAY, {})


def setup_database(prod: Postgres, verifier: str, scale: dict[str, int]) -> None:
    """Roles, the shop database with its schema and a few thousand rows, and a small staging copy."""
    with prod.connect() as conn:
        conn.execute("CREATE ROLE shop_owner NOLOGIN")
        conn.execute(f"CREATE ROLE backup LOGIN PASSWORD '{verifier}'")  # a SCRAM verifier, never the password
        for db in ("shop", "shop_staging"):
            conn.execute(f"CREATE DATABASE {db} OWNER shop_owner")
    schema = (LAB / "schema.sql").read_text()
    for db, factor in (("shop", 1), ("shop_staging", 100)):
        params = {k: max(3, v // factor) for k, v in scale.items()}
        with prod.connect(db) as conn:
            conn.execute("SET ROLE shop_owner")
            conn.execute(schema)
            for statement in SEED:
                conn.execute(statement, params)
            for statement in TRADE:
                conn.execute(statement, params)
