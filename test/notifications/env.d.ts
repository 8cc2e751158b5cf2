// What the notifications test project binds besides shop-notifications' own bindings.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_EVENTS_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** shop-events' database (events-db), bound by the same id, to read the dead letters it stored. */
    EVENTS_DB: D1Database;
  }
}
