// Bindings the system test project adds to the gateway's Env: the runner's own handle on users-db
// (same database id as shop-users) and the migrations to apply to it.
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
    TEST_NOTIFICATIONS_QUEUE: Queue;
    /** Two runs of `npm run admin:create` and the SQL each runs against users-db (vitest.config.ts). */
    CLI_ADMINS: Record<"created" | "promoted", { email: string; name: string; password: string; sql: string }>;
    /** The tail Worker that collects every Worker's log lines (vitest.config.ts). */
    LOG_COLLECTOR: Fetcher;
  }
}
