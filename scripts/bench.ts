/**
 * `npm run bench`: throughput and latency of the gateway, measured under Miniflare's API (not
 * through `wrangler dev`, whose proxy costs about 5x). Both Workers are built exactly as a deploy
 * builds them, run in one workerd with a real D1 and the real RateLimiter, and loaded with
 * autocannon on 127.0.0.1 with a bounded number of connections. Scenarios run interleaved, round
 * after round, so they share the machine's conditions; the report gives medians over the rounds
 * and each scenario's ratio to the baseline (the JWKS: the gateway and one RPC to users).
 *
 * Every request comes from one client, so the limiter scenarios measure one hot key: its sliding
 * log holds every request of the window (quotas are lifted here so nothing is refused), and each
 * decision reads it. With the SPEC.md quotas a log never exceeds 600 entries.
 *
 * Env: BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_CONNECTIONS (8).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { auxWorker, eventsMigrations, usersMigrations } from "../test/support/node-config.ts";
import { buildGatewayAssets } from "./gateway-assets.ts";
import { generateSigningKey } from "./keys.ts";
import { ROOT, run, wrangler } from "./lib.ts";

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const scratch = mkdtempSync(join(tmpdir(), "edge-shop-bench-"));

function vars(config: string): Record<string, string> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, config));
  return { ...(workerOptions.bindings as Record<string, string>) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Applies migrations as the tests' applyD1Migrations does: each file's statements in one batch. */
async function migrate(
  db: Awaited<ReturnType<Miniflare["getD1Database"]>>,
  migrations: Awaited<ReturnType<typeof usersMigrations>>,
): Promise<void> {
  for (const migration of migrations) {
    await db.batch(migration.queries.map((query) => db.prepare(query)));
  }
}

/** A request that must answer `status` before anything is measured; otherwise the bench stops. */
async function expectStatus(response: Response, status: number, what: string): Promise<Response> {
  if (response.status !== status) {
    throw new Error(
      `${what} answered ${response.status}, expected ${status}: ${(await response.text()).slice(0, 500)}`,
    );
  }
  return response;
}

// The auxiliary Workers exactly as `npm test` builds them (.test-workers), the gateway the same way.
buildGatewayAssets();
await run(
  process.execPath,
  [join(ROOT, "scripts", "build-test-workers.ts")],
  { cwd: ROOT, env: process.env },
  {
    quiet: true,
  },
);
const gatewayDir = join(scratch, "shop-gateway");
await wrangler(["deploy", "--dry-run", "--outdir", gatewayDir, "-c", "wrangler.toml"], { quiet: true });
const signingKey = await generateSigningKey();
// The limiter runs for every /api request, but with quotas no benchmark reaches.
const unlimited = {
  RATE_LIMIT_ANON: "1000000000/60",
  RATE_LIMIT_USER: "1000000000/60",
  RATE_LIMIT_LOGIN: "1000000000/60",
  RATE_LIMIT_PASSWORD: "1000000000/60",
};

const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    defaultPersistRoot: join(scratch, "state"),
    workers: [
      {
        name: "shop-gateway",
        modules: true,
        scriptPath: join(gatewayDir, "index.js"),
        modulesRoot: gatewayDir,
        compatibilityDate: "2026-11-01",
        bindings: { ...vars("wrangler.toml"), ...unlimited },
        durableObjects: { RATE_LIMITER: { className: "RateLimiter", useSQLite: true } },
        serviceBindings: { USERS: "shop-users" },
      },
      // shop-users with every binding of its config (its outbox, queue and shop-events included).
      auxWorker("shop-users", "users", {
        bindings: { JWT_SIGNING_KEY: signingKey, JWT_PREVIOUS_PUBLIC_KEYS: "[]" },
      }),
      auxWorker("shop-events", "events"),
    ],
  } as never),
);

try {
  const url = await mf.ready;
  await migrate(await mf.getD1Database("DB", "shop-users"), await usersMigrations());
  await migrate(await mf.getD1Database("DB", "shop-events"), await eventsMigrations());

  const json = { "content-type": "application/json" };
  const credentials = { email: "bench@example.com", password: "bench-password-123" };
  await expectStatus(
    await mf.dispatchFetch(new URL("/api/auth/register", url), {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ...credentials, name: "Bench" }),
    }),
    201,
    "POST /api/auth/register",
  );
  const login = await expectStatus(
    await mf.dispatchFetch(new URL("/api/auth/login", url), {
      method: "POST",
      headers: json,
      body: JSON.stringify(credentials),
    }),
    200,
    "POST /api/auth/login",
  );
  const { accessToken } = (await login.json()) as { accessToken: string };

  const scenarios = [
    // /health pings every service, and only users runs here: the JWKS is the baseline instead.
    {
      name: "GET /.well-known/jwks.json (baseline: gateway + users RPC)",
      path: "/.well-known/jwks.json",
      headers: {},
      status: 200,
    },
    {
      name: "GET /api/users/me (JWT verify + RateLimiter DO + forward + D1)",
      path: "/api/users/me",
      headers: { authorization: `Bearer ${accessToken}` },
      status: 200,
    },
    { name: "GET /api/nope (anonymous: RateLimiter DO + 404 problem)", path: "/api/nope", headers: {}, status: 404 },
  ];
  // Each scenario answers what it should before it is measured: a bench of 401s measures nothing.
  for (const scenario of scenarios) {
    await expectStatus(
      await mf.dispatchFetch(new URL(scenario.path, url), { headers: scenario.headers }),
      scenario.status,
      `GET ${scenario.path}`,
    );
  }
  const results = new Map<string, { rps: number[]; p50: number[]; p99: number[]; non2xx: number }>();
  const unexpected: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      const run = await autocannon({
        url: new URL(scenario.path, url).toString(),
        headers: scenario.headers,
        connections,
        duration: seconds,
      });
      const entry = results.get(scenario.name) ?? { rps: [], p50: [], p99: [], non2xx: 0 };
      entry.rps.push(run.requests.average);
      entry.p50.push(run.latency.p50);
      entry.p99.push(run.latency.p99);
      // Answers other than the expected status (autocannon counts 2xx and the rest apart).
      entry.non2xx += scenario.status < 300 ? run.non2xx : run["2xx"];
      results.set(scenario.name, entry);
      console.log(
        `round ${round}: ${scenario.path} ${run.requests.average.toFixed(0)} req/s, p50 ${run.latency.p50} ms`,
      );
    }
  }
  const baseline = median(results.get(scenarios[0]?.name ?? "")?.rps ?? [1]);
  console.log(`\n(node ${process.version}, workerd via miniflare, ${(await import("node:os")).cpus().length} cores)`);
  console.log(`\n${rounds} rounds x ${seconds} s, ${connections} connections, medians:`);
  console.log("| scenario | req/s | p50 ms | p99 ms | vs baseline |");
  console.log("|---|---|---|---|---|");
  for (const [name, entry] of results) {
    const rps = median(entry.rps);
    console.log(
      `| ${name} | ${rps.toFixed(0)} | ${median(entry.p50)} | ${median(entry.p99)} | ${(rps / baseline).toFixed(2)} |`,
    );
    if (entry.non2xx > 0) unexpected.push(`${name}: ${entry.non2xx} answers with another status than expected`);
  }
  if (unexpected.length > 0) {
    console.error(`\nbench failed:\n- ${unexpected.join("\n- ")}`);
    process.exitCode = 1;
  }
} finally {
  await mf.dispose();
  rmSync(scratch, { recursive: true, force: true });
}
