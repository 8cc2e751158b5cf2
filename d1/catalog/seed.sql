-- Demo products for local development (`npm run dev`). Fixed ids and timestamps, and
-- ON CONFLICT DO NOTHING, so running it again changes nothing (stock moved by orders stays).
INSERT INTO products (id, name, description, price_cents, currency, available, reserved, sold, stocked, created_at, updated_at)
VALUES
  ('prd_01m6b5cjm0seed000000000001', 'Edge mug', 'A 330 ml stoneware mug with the edge-shop logo.', 1200, 'EUR', 50, 0, 0, 50, '2026-11-01T09:00:00.000Z', '2026-11-01T09:00:00.000Z'),
  ('prd_01m6b5ed70seed000000000002', 'Worker t-shirt', 'Organic cotton, unisex fit.', 2500, 'EUR', 30, 0, 0, 30, '2026-11-01T09:01:00.000Z', '2026-11-01T09:01:00.000Z'),
  ('prd_01m6b5g7t0seed000000000003', 'Dotted notebook', 'A5, 120 pages, lies flat.', 900, 'EUR', 100, 0, 0, 100, '2026-11-01T09:02:00.000Z', '2026-11-01T09:02:00.000Z'),
  ('prd_01m6b5j2d0seed000000000004', 'Limited edition poster', 'Signed and numbered: only three were printed.', 4900, 'EUR', 3, 0, 0, 3, '2026-11-01T09:03:00.000Z', '2026-11-01T09:03:00.000Z'),
  ('prd_01m6b5kx00seed000000000005', 'Sticker', 'A die-cut vinyl sticker.', 200, 'EUR', 500, 0, 0, 500, '2026-11-01T09:04:00.000Z', '2026-11-01T09:04:00.000Z')
ON CONFLICT (id) DO NOTHING;
