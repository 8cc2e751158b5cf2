ALTER TABLE orders ADD COLUMN traceparent TEXT; -- the W3C trace context of the request that placed the order, carried into its events
