-- Migration 002: payments get a table of their own. Reviewed, tested, deployed on a
-- Tuesday. Nobody thought of the backup role: no GRANT, no default privileges.
CREATE TABLE payments (
    id          bigint PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders,
    amount_cents integer NOT NULL,
    paid_at     timestamptz NOT NULL
);
INSERT INTO payments
SELECT o.id, o.id, o.total_cents, o.placed_at + interval '5 minutes' FROM orders o WHERE o.id % 5 <> 0;
