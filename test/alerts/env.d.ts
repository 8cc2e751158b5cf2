// Bindings the alerts test project adds to shop-alerts' Env: the runner's own handles on the
// services' databases (same ids), their migrations, the breakers and the webhook receiver.
declare namespace Cloudflare {
  interface Env {
    USERS_DB: D1Database;
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    CATALOG_DB: D1Database;
    TEST_CATALOG_MIGRATIONS: import("cloudflare:test").D1Migration[];
    PAYMENTS_DB: D1Database;
    TEST_PAYMENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    ORDERS_DB: D1Database;
    TEST_ORDERS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    EVENTS_DB: D1Database;
    TEST_EVENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    NOTIFICATIONS_DB: D1Database;
    TEST_NOTIFICATIONS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_BREAKER: DurableObjectNamespace<import("#do/circuit-breaker/circuit-breaker").CircuitBreaker>;
    WEBHOOK: Fetcher;
  }
}
