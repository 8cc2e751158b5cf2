import type { MiddlewareHandler } from "hono";
import type { JsonValue } from "#shared/contracts/ops";
import { REQUEST_ID_HEADER, writeIdentity } from "#shared/identity";
import { errorFields } from "#shared/log";
import { formatTraceparent } from "#shared/trace";
import { privilegedAction } from "../audit/privileged";
import type { GatewayApp } from "../context";

async function jsonOf(read: () => Promise<unknown>): Promise<JsonValue | undefined> {
  try {
    return (await read()) as JsonValue;
  } catch {
    return undefined;
  }
}

/**
 * The audit trail's recorder (issue 10): an admin's privileged call (`audit/privileged.ts`) that
 * succeeds is recorded in shop-ops' hash chain with the actor, target, state before and after,
 * request id and trace id, before the answer leaves. The state before is read just before the
 * call is forwarded: a change by someone else in between would show in `before` (the chain stays
 * truthful about who did what; `before` is the gateway's best view, not a lock).
 *
 * The action has happened when the trail is written: a failure to record is logged as an error
 * and the caller still gets the answer (refusing it would misreport a change that was made).
 */
export function auditPrivileged(): MiddlewareHandler<GatewayApp> {
  return async function auditMiddleware(c, next) {
    const identity = c.get("identity");
    const matched = identity?.role === "admin" ? privilegedAction(c.req.method, c.req.path) : undefined;
    if (!matched || !identity) return next();
    const { entry, params } = matched;
    const headers = new Headers();
    writeIdentity(headers, identity);
    headers.set(REQUEST_ID_HEADER, c.get("requestId"));
    headers.set("traceparent", formatTraceparent(c.get("trace")));
    let before: JsonValue | undefined;
    if (entry.before) {
      const { service, path, pick } = entry.before;
      const response = await service(c.env)
        .fetch(`https://service.internal${path(params)}`, { headers })
        .catch(() => undefined);
      if (response?.ok) {
        const body = await jsonOf(() => response.json());
        before = body === undefined ? undefined : pick(body);
      } else await response?.body?.cancel();
    }

    await next();
    if (c.res.status < 200 || c.res.status >= 300) return;

    const answer = c.res.status === 204 ? undefined : await jsonOf(() => c.res.clone().json());
    const picked = answer === undefined ? undefined : entry.after ? entry.after(answer) : answer;
    const input = entry.withInput ? await jsonOf(() => c.req.json()) : undefined;
    const after = input === undefined ? picked : { input, ...(picked === undefined ? {} : { result: picked }) };
    try {
      const recorded = await c.env.OPS.audit({
        actor: { type: "admin", id: identity.userId },
        action: entry.action,
        target: entry.target(params, answer),
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
        requestId: c.get("requestId"),
        traceId: c.get("trace").traceId,
      });
      if (!recorded.ok) c.get("log").error("audit entry refused", { action: entry.action, detail: recorded.detail });
    } catch (error) {
      c.get("log").error("audit trail unavailable", { action: entry.action, ...errorFields(error) });
    }
  };
}
