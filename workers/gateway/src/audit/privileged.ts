import type { AuditAction, JsonValue } from "#shared/contracts/ops";

/**
 * Every privileged action the gateway records in the audit trail (issue 10): which route, its
 * action name, the target it acts on, and how to read the state before it. Only an admin's call
 * that succeeded (2xx) is recorded; an owner cancelling their own order is not privileged.
 */
export interface PrivilegedAction {
  method: "post" | "put" | "patch";
  path: string; // OpenAPI style, as in the route table
  action: AuditAction;
  target: (params: Record<string, string>, after: JsonValue | undefined) => string;
  /** A GET on the same service answering the target's state before the change. */
  before?: { service: (env: Env) => Fetcher; path: (params: Record<string, string>) => string; pick: Pick };
  /** What of the answer to keep as `after` (default: the whole JSON answer). */
  after?: Pick;
  /** Also keep the request body (inputs that are not visible in the answer: faults, replay). */
  withInput?: boolean;
}

type Pick = (body: JsonValue) => JsonValue;

const field = (body: JsonValue, key: string): JsonValue =>
  body !== null && typeof body === "object" && !Array.isArray(body) ? ((body[key] ?? null) as JsonValue) : null;
const fields =
  (...keys: string[]): Pick =>
  (body) =>
    Object.fromEntries(keys.map((key) => [key, field(body, key)]).filter(([, v]) => v !== null));

const role = fields("role");
const product = fields("name", "description", "priceCents", "currency", "available", "reserved", "sold");
const order = fields("status", "reason", "trackingNumber");
const saga: Pick = (body) => ({ state: field(field(body, "saga"), "state") ?? field(body, "state") });

const users = (env: Env) => env.USERS;
const catalog = (env: Env) => env.CATALOG;
const orders = (env: Env) => env.ORDERS;

export const PRIVILEGED_ACTIONS: readonly PrivilegedAction[] = [
  {
    method: "put",
    path: "/api/users/{id}/role",
    action: "user.role.set",
    target: (p) => `user:${p.id}`,
    before: { service: users, path: (p) => `/api/users/${p.id}`, pick: role },
    after: role,
  },
  {
    method: "post",
    path: "/api/products",
    action: "product.create",
    target: (_p, after) => `product:${String(field(after ?? null, "id"))}`,
    after: product,
  },
  {
    method: "patch",
    path: "/api/products/{id}",
    action: "product.update",
    target: (p) => `product:${p.id}`,
    before: { service: catalog, path: (p) => `/api/products/${p.id}`, pick: product },
    after: product,
  },
  {
    method: "post",
    path: "/api/products/{id}/restock",
    action: "product.restock",
    target: (p) => `product:${p.id}`,
    before: { service: catalog, path: (p) => `/api/products/${p.id}`, pick: product },
    after: product,
    withInput: true,
  },
  {
    method: "post",
    path: "/api/orders/{id}/cancel",
    action: "order.cancel",
    target: (p) => `order:${p.id}`,
    before: { service: orders, path: (p) => `/api/orders/${p.id}`, pick: order },
    after: order,
  },
  {
    method: "post",
    path: "/api/orders/{id}/ship",
    action: "order.ship",
    target: (p) => `order:${p.id}`,
    before: { service: orders, path: (p) => `/api/orders/${p.id}`, pick: order },
    after: order,
  },
  {
    method: "post",
    path: "/api/admin/sagas/{id}/retry",
    action: "saga.retry",
    target: (p) => `order:${p.id}`,
    before: { service: orders, path: (p) => `/api/orders/${p.id}`, pick: saga },
    after: saga,
  },
  { method: "put", path: "/api/admin/faults", action: "faults.set", target: () => "faults", withInput: true },
  {
    method: "post",
    path: "/api/admin/events/replay",
    action: "events.replay",
    target: () => "events",
    withInput: true,
  },
  {
    method: "post",
    path: "/api/admin/dead-letters/redrive",
    action: "dead_letters.redrive",
    target: () => "dead-letters",
    withInput: true,
  },
];

const compiled = PRIVILEGED_ACTIONS.map((entry) => ({
  entry,
  names: [...entry.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string),
  pattern: new RegExp(`^${entry.path.replace(/\{[^}]+\}/g, "([^/]+)")}$`),
}));

/** The privileged action a request is, with its path parameters, if it is one. */
export function privilegedAction(
  method: string,
  pathname: string,
): { entry: PrivilegedAction; params: Record<string, string> } | undefined {
  for (const { entry, names, pattern } of compiled) {
    if (entry.method.toUpperCase() !== method.toUpperCase()) continue;
    const match = pattern.exec(pathname);
    if (!match) continue;
    return {
      entry,
      params: Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")])),
    };
  }
  return undefined;
}
