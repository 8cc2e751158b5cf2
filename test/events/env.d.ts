// What the events test project binds besides shop-events' own bindings.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The subscriber stand-in's table `received`: every message that reached shop-notifications. */
    SUBSCRIBER_DB: D1Database;
  }
}
