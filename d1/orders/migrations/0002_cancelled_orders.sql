-- The sweep looks for cancelled orders whose refund never started (the request for it failed).
CREATE INDEX orders_cancelled ON orders (updated_at) WHERE status = 'cancelled';
