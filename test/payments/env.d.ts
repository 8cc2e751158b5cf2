// What the payments test project adds to shop-payments' Env: the migrations to apply, and the
// simulator with faults disabled.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    PSP_SIM_LOCKED: Fetcher;
  }
}
