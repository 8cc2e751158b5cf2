// What the payments test project adds to shop-payments' Env: the migrations to apply, the
// simulator with faults disabled, and shop-events' log.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_EVENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    PSP_SIM_LOCKED: Fetcher;
    /** shop-events' log (events-db), bound by the same id, to see what arrived. */
    EVENTS_DB: D1Database;
  }
}
