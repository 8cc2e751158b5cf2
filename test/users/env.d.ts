// What the users test project binds besides shop-users' own bindings.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_EVENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** shop-events' log (events-db), bound by the same id, to see what arrived. */
    EVENTS_DB: D1Database;
  }
}
