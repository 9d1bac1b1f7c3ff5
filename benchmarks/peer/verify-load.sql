-- Verification load for the peer: 10,000 outbox rows, ~200-byte JSON payloads, distinct
-- aggregate ids, two aggregate types (order / customer) so two subjects get used.
-- Run with: psql -X -q -v ON_ERROR_STOP=1 -d <db> -f verify-load.sql

-- 6,000 rows in one transaction (one multi-row INSERT ... SELECT)
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN 'order' ELSE 'customer' END, 'agg-' || g, 'Created',
       jsonb_build_object('n', g, 'customer', 'customer-' || g, 'amount', g * 1.5, 'currency', 'EUR',
                          'note', repeat('x', 120))
FROM generate_series(1, 6000) g;

-- 2,000 rows in 20 transactions of 100 rows
SELECT format($f$INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
SELECT gen_random_uuid(), 'order', 'agg-' || g, 'Updated',
       jsonb_build_object('n', g, 'customer', 'customer-' || g, 'amount', g * 1.5, 'currency', 'EUR',
                          'note', repeat('y', 120))
FROM generate_series(%s, %s) g$f$, 6001 + b * 100, 6100 + b * 100)
FROM generate_series(0, 19) b \gexec

-- 2,000 single-row transactions (psql autocommit)
SELECT format($f$INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
VALUES (gen_random_uuid(), 'customer', 'agg-%s', 'Renamed',
        jsonb_build_object('n', %s, 'customer', 'customer-%s', 'amount', %s * 1.5, 'currency', 'EUR',
                           'note', repeat('z', 120)))$f$, g, g, g, g)
FROM generate_series(8001, 10000) g \gexec
