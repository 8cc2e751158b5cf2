// What the catalog test project adds to catalog-db's Env: its migrations and the dev seed.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_SEED_SQL: string;
  }
}
