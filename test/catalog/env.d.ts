// What the catalog test project adds to catalog-db's Env: its migrations, the dev seed, and
// shop-events' log.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_EVENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_SEED_SQL: string;
    /** shop-events' log (events-db), bound by the same id, to see what arrived. */
    EVENTS_DB: D1Database;
  }
}
