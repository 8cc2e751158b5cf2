/**
 * What each building block of a request costs in this runtime, measured beside the system in the
 * same workerd process: a trivial Worker that does exactly one thing per request (one D1 read, one
 * Durable Object call, one SQLite write in an object, a service-binding hop, an RPC
 * call, a log line, one ES256 verification, one Analytics Engine data point). Each figure minus the hello floor is that block's
 * cost, so an order's or a read's CPU can be explained by counting its blocks (README "Benchmarks").
 * A new object per request (`/do-new`) is measured once, by the background measurement
 * (scripts/bench/limiter.ts), not every round: thousands of new objects evicted later would
 * weigh on whatever scenario runs then.
 */
import type { HttpScenario } from "./load.ts";

export const PRIMITIVES = "bench-primitives";
const RPC = "bench-rpc";

/** The blocks, by path on the primitives Worker. */
export const BLOCKS = [
  { path: "/floor", name: "nothing (this Worker's floor)" },
  { path: "/log", name: "one JSON log line (a span line)" },
  { path: "/hop", name: "one service-binding fetch (Request to a hello Worker)" },
  { path: "/rpc", name: "one RPC call (WorkerEntrypoint method)" },
  { path: "/d1-read", name: "one D1 read by primary key" },
  { path: "/d1-write", name: "one D1 write (one-statement commit)" },
  { path: "/do", name: "one Durable Object call, no storage" },
  { path: "/do-write", name: "one Durable Object call with one SQLite write" },
  { path: "/verify", name: "one ES256 signature verification (crypto.subtle)" },
  { path: "/metric", name: "one Analytics Engine data point (writeDataPoint)" },
] as const;

const script = `
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

export class Counter extends DurableObject {
  ping() { return 1; }
  write(n) {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO hits VALUES (?)", n);
    return 1;
  }
}

let key;
let signature;
const data = new TextEncoder().encode("header.payload-of-a-typical-access-token-".repeat(6));
async function verifier() {
  if (!key) {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    key = pair.publicKey;
    signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data);
  }
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, data);
}

let n = 0;
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    n += 1;
    switch (path) {
      case "/floor": return new Response("ok");
      case "/log":
        console.log(JSON.stringify({ level: "info", time: new Date().toISOString(), message: "span", service: "bench",
          name: "GET /api/users/me", traceId: crypto.randomUUID(), spanId: "0123456789abcdef", parentSpanId: null,
          durationMs: 1, outcome: "200", requestId: crypto.randomUUID() }));
        return new Response("ok");
      case "/hop": return new Response(await (await env.HELLO.fetch("http://hello/")).text());
      case "/rpc": return new Response(String(await env.RPC.ping()));
      case "/d1-read": {
        const row = await env.DB.prepare("SELECT id, email, name FROM users WHERE id = ?").bind("u" + (n % 100)).first();
        return new Response(row ? "ok" : "missing", { status: row ? 200 : 500 });
      }
      case "/d1-write":
        await env.DB.prepare("INSERT INTO writes (at) VALUES (?)").bind(n).run();
        return new Response("ok");
      case "/do": return new Response(String(await env.COUNTER.getByName("one").ping()));
      case "/do-write": return new Response(String(await env.COUNTER.getByName("one").write(n)));
      case "/do-new": return new Response(String(await env.COUNTER.getByName(crypto.randomUUID()).write(n)));
      case "/verify": return new Response(String(await verifier()), { status: 200 });
      case "/metric":
        env.METRICS.writeDataPoint({ indexes: ["request"], blobs: ["/api/users/me", "GET", "allowed", "user"], doubles: [3, 200] });
        return new Response("ok");
    }
    return new Response("no such block", { status: 404 });
  },
};
`;

const rpcScript = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  ping() { return 1; }
  fetch() { return new Response("rpc"); }
};
`;

/** The two Workers, in Miniflare's shape (added beside the system by `startEdge`). */
export function primitiveWorkers(hello: string, compatibilityDate: string): Record<string, unknown>[] {
  return [
    {
      name: PRIMITIVES,
      modules: true,
      compatibilityDate,
      compatibilityFlags: ["nodejs_compat"],
      script,
      d1Databases: { DB: "bench-primitives-db" },
      analyticsEngineDatasets: { METRICS: { dataset: "bench_primitives" } },
      durableObjects: { COUNTER: { className: "Counter", useSQLite: true } },
      serviceBindings: { HELLO: hello, RPC: RPC },
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    },
    { name: RPC, modules: true, compatibilityDate, script: rpcScript },
  ];
}

/** The D1 tables the blocks use, with 100 users to read. */
export const PRIMITIVES_SCHEMA = [
  "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)",
  "CREATE TABLE writes (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL)",
  ...Array.from({ length: 100 }, (_, i) => `INSERT INTO users VALUES ('u${i}', 'user${i}@example.com', 'User ${i}')`),
];

export function blockScenarios(base: URL): { name: string; scenario: HttpScenario }[] {
  return BLOCKS.map((block) => ({ name: block.name, scenario: { url: new URL(block.path, base), expect: [200] } }));
}
