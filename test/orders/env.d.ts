// What the orders test project adds to shop-orders' Env: the runner's own handles on catalog-db
// payments-db and events-db (same ids as those services) with the migrations to apply, and service
// bindings to catalog and payments for creating products and checking stock and payments.
declare namespace Cloudflare {
  interface Env {
    TEST_ORDERS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    CATALOG_DB: D1Database;
    TEST_CATALOG_MIGRATIONS: import("cloudflare:test").D1Migration[];
    PAYMENTS_DB: D1Database;
    TEST_PAYMENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** shop-events' log (events-db), to see which events arrived. */
    EVENTS_DB: D1Database;
    TEST_EVENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_CATALOG: Service<typeof import("../../workers/catalog/src/index").default>;
    TEST_PAYMENTS: Service<typeof import("../../workers/payments/src/index").default>;
    SAGA_BACKOFF_BASE_MS: string;
    SAGA_BACKOFF_CAP_MS: string;
    SAGA_COMPENSATION_BACKOFF_BASE_MS: string;
    SAGA_COMPENSATION_BACKOFF_CAP_MS: string;
    SAGA_CALL_TIMEOUT_MS: string;
  }
}
