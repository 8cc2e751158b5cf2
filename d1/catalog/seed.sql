-- Demo products for local development (`npm run dev`). Fixed ids and ON CONFLICT DO NOTHING, so
-- running it again changes nothing (stock moved by orders stays). Created when first seeded (a
-- minute apart, in this order), not at a fixed date: their product.created events below carry that
-- time, and the event log drops events older than its retention (EVENT_RETENTION_DAYS), so a fixed
-- date would make the seeded events vanish from the log as soon as it aged past it.
INSERT INTO products (id, name, description, price_cents, currency, available, reserved, sold, stocked, created_at, updated_at)
VALUES
  ('prd_01m6b5cjm0seed000000000001', 'Edge mug', 'A 330 ml stoneware mug with the edge-shop logo.', 1200, 'EUR', 50, 0, 0, 50, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-4 minutes'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-4 minutes')),
  ('prd_01m6b5ed70seed000000000002', 'Worker t-shirt', 'Organic cotton, unisex fit.', 2500, 'EUR', 30, 0, 0, 30, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 minutes'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 minutes')),
  ('prd_01m6b5g7t0seed000000000003', 'Dotted notebook', 'A5, 120 pages, lies flat.', 900, 'EUR', 100, 0, 0, 100, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 minutes'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 minutes')),
  ('prd_01m6b5j2d0seed000000000004', 'Limited edition poster', 'Signed and numbered: only three were printed.', 4900, 'EUR', 3, 0, 0, 3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minutes'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minutes')),
  ('prd_01m6b5kx00seed000000000005', 'Sticker', 'A die-cut vinyl sticker.', 200, 'EUR', 500, 0, 0, 500, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-0 minutes'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-0 minutes'))
ON CONFLICT (id) DO NOTHING;

-- Each seeded product's product.created (SPEC.md section 5), written to the outbox as the service
-- would write it: a fixed event id, sequence 1, a new W3C trace (the seeding caused it, so its
-- consumers' log lines carry a trace id like every other event's), occurredAt = the product's
-- creation. Only for a product whose subject has no sequence yet, so a re-run writes nothing,
-- even after the relay sent and deleted the row. The relay (an alarm) sends it.
WITH seed (product_id, event_id, stock) AS (
  VALUES
    ('prd_01m6b5cjm0seed000000000001', 'evt_01m6b5seedevent00000000001', 50),
    ('prd_01m6b5ed70seed000000000002', 'evt_01m6b5seedevent00000000002', 30),
    ('prd_01m6b5g7t0seed000000000003', 'evt_01m6b5seedevent00000000003', 100),
    ('prd_01m6b5j2d0seed000000000004', 'evt_01m6b5seedevent00000000004', 3),
    ('prd_01m6b5kx00seed000000000005', 'evt_01m6b5seedevent00000000005', 500)
)
INSERT INTO outbox (id, type, subject, sequence, envelope, created_at)
SELECT
  seed.event_id, 'product.created', p.id, 1,
  json_object(
    'id', seed.event_id, 'type', 'product.created', 'version', 1, 'occurredAt', p.created_at,
    'source', 'shop-catalog', 'subject', p.id, 'sequence', 1,
    'traceparent', '00-' || lower(hex(randomblob(16))) || '-' || lower(hex(randomblob(8))) || '-01',
    'data', json_object('productId', p.id, 'name', p.name, 'priceCents', p.price_cents, 'currency', p.currency, 'stock', seed.stock)
  ),
  CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM seed JOIN products AS p ON p.id = seed.product_id
WHERE NOT EXISTS (SELECT 1 FROM event_sequences WHERE subject = p.id)
ON CONFLICT (id) DO NOTHING;

INSERT INTO event_sequences (subject, last)
SELECT subject, sequence FROM outbox
WHERE id IN ('evt_01m6b5seedevent00000000001', 'evt_01m6b5seedevent00000000002', 'evt_01m6b5seedevent00000000003', 'evt_01m6b5seedevent00000000004', 'evt_01m6b5seedevent00000000005')
ON CONFLICT (subject) DO NOTHING;
