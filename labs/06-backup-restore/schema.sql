-- The shop's tables, as its first migrations made them. Owned by shop_owner (the role
-- migrations run as); the backup role may read every table that exists today.
CREATE TABLE customers (
    id         bigint PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);
CREATE TABLE catalog (
    sku         text PRIMARY KEY,
    title       text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents > 0)
);
CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers,
    placed_at   timestamptz NOT NULL,
    total_cents integer NOT NULL
);
CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders,
    sku      text NOT NULL REFERENCES catalog,
    qty      integer NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, sku)
);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO backup;
