/**
 * `npm run cli -- <command>` (or `npx edge-shop <command>` once linked): edge-shop for customers
 * and admins on the typed client. Tokens are kept in `.edge-shop-session.json` (git-ignored
 * `.wrangler/`); `--json` prints machine-readable output; EDGE_SHOP_URL (default
 * http://localhost:$PORT, PORT 8787) chooses the gateway.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { type Order, ProblemError, ShopClient, type TokenPair, unwrap } from "../clients/typescript/src/index.ts";
import { ROOT } from "./lib.ts";

const USAGE = `usage: edge-shop <command> [--json] [--url URL]
  login <email> <password>          sign in (tokens kept in .wrangler/cli-session.json)
  logout
  me
  products [--limit N]
  order <productId>:<qty>...        place an order and follow its saga live (--no-follow to return at once)
  follow <orderId>                  follow an order's saga until it comes to rest
  orders                            your orders (all, for admins)
  cancel <orderId>
  admin breakers
  admin sagas [--state S]
  admin retry <orderId>             retry a saga in compensation_failed
  admin events [--type T] [--subject S]
  admin dead-letters
  admin redrive [ids...]
  admin replay --from ISO [--type T] [--subscriber notifications]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: "boolean", default: false },
    url: { type: "string" },
    limit: { type: "string" },
    state: { type: "string" },
    type: { type: "string" },
    subject: { type: "string" },
    from: { type: "string" },
    subscriber: { type: "string", default: "notifications" },
    "no-follow": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const SESSION = join(ROOT, ".wrangler", "cli-session.json");
const baseUrl = values.url ?? process.env.EDGE_SHOP_URL ?? `http://localhost:${process.env.PORT ?? 8787}`;
const saved = await readFile(SESSION, "utf8").then(
  (text) => JSON.parse(text) as { baseUrl: string; tokens: TokenPair },
  () => undefined,
);
const client = new ShopClient({
  baseUrl,
  tokens: saved?.baseUrl === baseUrl ? saved.tokens : undefined,
  onTokens: (tokens) => {
    void (async () => {
      if (!tokens) return rm(SESSION, { force: true });
      await mkdir(dirname(SESSION), { recursive: true });
      await writeFile(SESSION, JSON.stringify({ baseUrl, tokens }), { mode: 0o600 });
    })();
  },
});

const out = (data: unknown, human: () => string) => console.log(values.json ? JSON.stringify(data, null, 2) : human());
const progress = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};
const table = (rows: string[][]) => rows.map((row) => row.join("  ")).join("\n");

function describeOrder(order: Order): string {
  const steps = (order.saga?.steps ?? [])
    .map((step) => `  ${step.name.padEnd(20)} ${step.status.padEnd(12)} attempts=${step.attempts}`)
    .join("\n");
  return `${order.id}  ${order.status}${order.reason ? ` (${order.reason})` : ""}  ${order.totalCents} ${order.currency}  saga=${order.saga?.state}\n${steps}`;
}

async function follow(id: string): Promise<Order> {
  const seen = new Map<string, string>();
  return client.followOrder(id, (order) => {
    for (const step of order.saga?.steps ?? []) {
      const now = `${step.status}/${step.attempts}`;
      if (seen.get(step.name) !== now) progress(`  saga ${step.name}: ${step.status} (attempt ${step.attempts})`);
      seen.set(step.name, now);
    }
    progress(`  order ${order.status}, saga ${order.saga?.state}`);
  });
}

async function main(): Promise<void> {
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const api = client.api;
  switch (command) {
    case "login": {
      const [email, password] = args;
      if (!email || !password) throw new Error("login <email> <password>");
      const tokens = await client.login(email, password);
      return out({ expiresIn: tokens.expiresIn }, () => `signed in as ${email} at ${baseUrl}`);
    }
    case "logout":
      await client.logout();
      return out({ ok: true }, () => "signed out");
    case "me": {
      const me = unwrap(await api.GET("/api/users/me"));
      return out(me, () => table([[me.id, me.email, me.name, me.role]]));
    }
    case "products": {
      const limit = values.limit ? Number(values.limit) : 20;
      const page = unwrap(await api.GET("/api/products", { params: { query: { limit } } }));
      return out(page, () =>
        table(page.items.map((p) => [p.id, String(p.available).padStart(5), `${p.priceCents} ${p.currency}`, p.name])),
      );
    }
    case "order": {
      const items = args.map((arg) => {
        const [productId, quantity] = arg.split(":");
        return { productId: String(productId), quantity: Number(quantity ?? 1) };
      });
      if (items.length === 0) throw new Error("order <productId>:<qty>...");
      const placed = await client.placeOrder(items);
      progress(`placed ${placed.order.id} (${placed.accepted ? "202: saga still running" : "201"}, key ${placed.key})`);
      const order = values["no-follow"] ? placed.order : await follow(placed.order.id);
      return out(order, () => describeOrder(order));
    }
    case "follow": {
      const order = await follow(String(args[0]));
      return out(order, () => describeOrder(order));
    }
    case "orders": {
      const page = unwrap(await api.GET("/api/orders"));
      return out(page, () =>
        table(page.items.map((o) => [o.id, o.status, `${o.totalCents} ${o.currency}`, o.saga?.state ?? ""])),
      );
    }
    case "cancel": {
      const order = unwrap(await api.POST("/api/orders/{id}/cancel", { params: { path: { id: String(args[0]) } } }));
      return out(order, () => describeOrder(order));
    }
    case "admin":
      return admin(args);
    default:
      throw new Error(`unknown command ${command}\n${USAGE}`);
  }
}

async function admin([what, ...args]: string[]): Promise<void> {
  const api = client.api;
  switch (what) {
    case "breakers": {
      const list = unwrap(await api.GET("/api/admin/breakers"));
      return out(list, () => table(list.items.map((b) => [b.name.padEnd(14), b.state, `failures=${b.failures}`])));
    }
    case "sagas": {
      const state = values.state as "running" | "compensation_failed" | undefined;
      const page = unwrap(await api.GET("/api/admin/sagas", { params: { query: state ? { state } : {} } }));
      return out(page, () => JSON.stringify(page.items, null, 2));
    }
    case "retry": {
      const saga = unwrap(await api.POST("/api/admin/sagas/{id}/retry", { params: { path: { id: String(args[0]) } } }));
      return out(saga, () => `retrying ${args[0]}: ${JSON.stringify(saga)}`);
    }
    case "events": {
      const query = {
        ...(values.type ? { type: values.type } : {}),
        ...(values.subject ? { subject: values.subject } : {}),
      };
      const page = unwrap(await api.GET("/api/admin/events", { params: { query: query as never } }));
      return out(page, () => table(page.items.map((e) => [e.occurredAt, e.type.padEnd(24), e.subject])));
    }
    case "dead-letters": {
      const page = unwrap(await api.GET("/api/admin/dead-letters"));
      return out(page, () => table(page.items.map((d) => [d.id, d.queue, d.reason, d.redrivenAt ?? "waiting"])));
    }
    case "redrive": {
      const result = unwrap(
        await api.POST("/api/admin/dead-letters/redrive", { body: args.length > 0 ? { ids: args } : {} }),
      );
      return out(result, () => `redriven: ${result.redriven}`);
    }
    case "replay": {
      if (!values.from) throw new Error("admin replay --from <ISO time>");
      const body = {
        from: values.from,
        subscriber: values.subscriber as "notifications",
        ...(values.type ? { types: [values.type] } : {}),
      };
      progress(`replaying events since ${values.from} to ${body.subscriber}...`);
      const result = unwrap(await api.POST("/api/admin/events/replay", { body: body as never }));
      return out(result, () => `replayed: ${result.replayed}`);
    }
    default:
      throw new Error(`unknown admin command ${what}\n${USAGE}`);
  }
}

try {
  await main();
} catch (error) {
  if (error instanceof ProblemError) {
    if (values.json) console.log(JSON.stringify(error.problem, null, 2));
    else console.error(`error: ${error.problem.status} ${error.problem.title}: ${error.problem.detail}`);
  } else {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exitCode = 1;
}
