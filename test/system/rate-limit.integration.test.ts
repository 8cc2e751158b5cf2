import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { type Decision, RateLimiter } from "#do/rate-limiter/rate-limiter";
import { onProblem, requestContext } from "#shared/http";
import type { Identity } from "#shared/identity";
import type { GatewayApp } from "../../workers/gateway/src/context";
import { rateLimit } from "../../workers/gateway/src/middleware/rate-limit";
import { BASE, call, freshIp, problemOf, registerAndLogin, type TestUser } from "./helpers";

function remaining(header: string | null, policy: string): number {
  const match = new RegExp(`"${policy}";r=(\\d+);t=(\\d+)`).exec(header ?? "");
  if (!match) throw new Error(`no ${policy} in RateLimit: ${header}`);
  return Number(match[1]);
}

describe("rate limit headers", () => {
  it("puts RateLimit-Policy and RateLimit on every /api response, errors included", async () => {
    const ip = freshIp();
    const ok = await call("/api/auth/register", {
      ip,
      json: { email: `${crypto.randomUUID()}@example.com`, password: "a-long-enough-password", name: "A" },
    });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("ratelimit-policy")).toBe('"anon";q=100;w=900');
    expect(ok.headers.get("ratelimit")).toMatch(/^"anon";r=99;t=\d+$/);
    const missing = await call("/api/nope", { ip });
    expect(missing.status).toBe(404);
    expect(remaining(missing.headers.get("ratelimit"), "anon")).toBe(98);
    const unauthorised = await call("/api/users/me", { ip });
    expect(unauthorised.status).toBe(401);
    expect(remaining(unauthorised.headers.get("ratelimit"), "anon")).toBe(97);
  });

  it("counts a signed-in user by sub under the user policy, wherever they connect from", async () => {
    const user = await registerAndLogin();
    const first = await call("/api/users/me", { token: user.accessToken, ip: freshIp() });
    expect(first.headers.get("ratelimit-policy")).toBe('"user";q=600;w=60');
    const second = await call("/api/users/me", { token: user.accessToken, ip: freshIp() });
    expect(remaining(second.headers.get("ratelimit"), "user")).toBe(
      remaining(first.headers.get("ratelimit"), "user") - 1,
    );
  });

  it("keys IPv6 clients by their /64", async () => {
    const a = await call("/api/nope", { ip: "2001:db8:77:1::1" });
    const b = await call("/api/nope", { ip: "2001:db8:77:1:ffff:ffff:ffff:ffff" });
    const other = await call("/api/nope", { ip: "2001:db8:77:2::1" });
    expect(remaining(b.headers.get("ratelimit"), "anon")).toBe(remaining(a.headers.get("ratelimit"), "anon") - 1);
    expect(remaining(other.headers.get("ratelimit"), "anon")).toBe(99);
  });
});

describe("quotas", () => {
  it("refuses the 101st anonymous request in the window with 429 and Retry-After", async () => {
    const ip = freshIp();
    for (let i = 0; i < 100; i++) {
      const res = await call("/api/nope", { ip });
      expect(res.status).toBe(404);
    }
    const refused = await call("/api/nope", { ip });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(remaining(refused.headers.get("ratelimit"), "anon")).toBe(0);
    expect((await problemOf(refused)).code).toBe("rate_limited");
    // Another client is unaffected.
    expect((await call("/api/nope")).status).toBe(404);
  });

  it("admits exactly 10 of 40 simultaneous logins for one IP and email", async () => {
    const ip = freshIp();
    const email = `victim-${crypto.randomUUID()}@example.com`;
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => call("/api/auth/login", { ip, json: { email, password: "guess-guess-guess" } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    // Refused logins took no quota: the IP's anon bucket shows only the 10 admitted.
    const next = await call("/api/nope", { ip });
    expect(remaining(next.headers.get("ratelimit"), "anon")).toBe(100 - 10 - 1);
    // The login limit is per email: the same IP may still try another one.
    const otherEmail = await call("/api/auth/login", {
      ip,
      json: { email: `x-${email}`, password: "guess-guess-guess" },
    });
    expect(otherEmail.status).toBe(401);
    expect(otherEmail.headers.get("ratelimit-policy")).toBe('"anon";q=100;w=900, "login";q=10;w=900');
  });

  it("charges a login's login bucket even when its path is percent-encoded (the router decodes it)", async () => {
    const email = `encoded-${crypto.randomUUID()}@example.com`;
    const response = await exports.default.fetch(
      new Request(`${BASE}/api/auth/%6Cogin`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
        body: JSON.stringify({ email, password: "guess-guess-guess" }),
      }),
    );
    // It reached the login route, and the limiter saw a login.
    expect(response.status).toBe(401);
    expect(response.headers.get("ratelimit-policy")).toBe('"anon";q=100;w=900, "login";q=10;w=900');
  });

  const changePassword = (user: TestUser, currentPassword = "not-the-current-password") =>
    call("/api/auth/password", {
      token: user.accessToken,
      ip: freshIp(),
      json: { currentPassword, newPassword: "another-long-password" },
    });

  it("refuses the 11th password change in 900 s with 429 and Retry-After, and the refusal uses no quota", async () => {
    const user = await registerAndLogin();
    for (let i = 0; i < 10; i++) {
      const guess = await changePassword(user);
      expect(guess.status).toBe(400);
      expect(guess.headers.get("ratelimit-policy")).toBe('"user";q=600;w=60, "password";q=10;w=900');
      expect(remaining(guess.headers.get("ratelimit"), "password")).toBe(9 - i);
    }
    // The right password is refused too: the guard is on the route, not on wrong answers.
    const refused = await changePassword(user, user.password);
    expect(refused.status).toBe(429);
    expect((await problemOf(refused)).code).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(remaining(refused.headers.get("ratelimit"), "password")).toBe(0);
    // Refused changes took nothing from the user bucket either: 10 changes, then this request.
    const me = await call("/api/users/me", { token: user.accessToken });
    expect(me.status).toBe(200);
    expect(remaining(me.headers.get("ratelimit"), "user")).toBe(600 - 10 - 1);
    // The password is unchanged: the old one still logs in.
    const login = await call("/api/auth/login", { json: { email: user.email, password: user.password } });
    expect(login.status).toBe(200);
    // Another user's quota is untouched.
    expect((await changePassword(await registerAndLogin())).status).toBe(400);
  });

  it("admits exactly 10 of 25 simultaneous password changes for one user, from any address", async () => {
    const user = await registerAndLogin();
    const responses = await Promise.all(Array.from({ length: 25 }, () => changePassword(user)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const me = await call("/api/users/me", { token: user.accessToken });
    expect(remaining(me.headers.get("ratelimit"), "user")).toBe(600 - 10 - 1);
  });

  it("decides 40 simultaneous takes on one object exactly (limit 25)", async () => {
    const stub = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const spec = { name: "t", key: "t", windows: [{ limit: 25, windowSeconds: 60 }] };
    const decisions = await Promise.all(Array.from({ length: 40 }, () => stub.take([spec])));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
    const remainders = decisions
      .filter((d) => d.allowed)
      .map((d) => d.buckets[0]?.remaining)
      .sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(remainders).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });
});

describe("RateLimiter storage", () => {
  const storedHits = (stub: DurableObjectStub<RateLimiter>) =>
    runInDurableObject(stub, (_instance: RateLimiter, state) => {
      const table = state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'hits'")
        .toArray();
      return table.length === 0 ? null : Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM hits").one().n);
    });

  it("writes each admitted hit through, takes nothing for a refusal, and sets one clean-up alarm, not one per hit", async () => {
    const stub = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const spec = { name: "t", key: "t", windows: [{ limit: 2, windowSeconds: 60 }] };
    const before = Date.now();
    const first = await stub.take([spec]);
    const alarm = await runInDurableObject(stub, (_i: RateLimiter, state) => state.storage.getAlarm());
    const decisions = [first, await stub.take([spec]), await stub.take([spec])];
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(await storedHits(stub)).toBe(2);
    // set by the first hit, at its expiry, and left alone by the next ones
    expect(alarm).toBeGreaterThanOrEqual(before + 60_000);
    expect(await runInDurableObject(stub, (_i: RateLimiter, state) => state.storage.getAlarm())).toBe(alarm);
  });

  it("cleans up an idle object by itself: its alarm deletes the storage once the window is empty", async () => {
    const stub = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const spec = { name: "t", key: "t", windows: [{ limit: 5, windowSeconds: 1 }] };
    await stub.take([spec]);
    expect(await storedHits(stub)).toBe(1);
    // the alarm (at the hit's expiry) fires by itself; nothing here runs it
    await vi.waitFor(async () => expect(await storedHits(stub)).toBeNull(), { timeout: 10_000, interval: 200 });
    expect(await runInDurableObject(stub, (_i: RateLimiter, state) => state.storage.getAlarm())).toBeNull();
    expect((await stub.take([spec])).buckets[0]?.remaining).toBe(4);
  });

  it("moves its alarm to the window's last expiry while hits are still live", async () => {
    const stub = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const spec = { name: "t", key: "t", windows: [{ limit: 5, windowSeconds: 60 }] };
    await stub.take([spec]);
    await stub.take([spec]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await storedHits(stub)).toBe(2);
    const alarm = await runInDurableObject(stub, (_i: RateLimiter, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 50_000);
  });

  it("decides the same after eviction: a fresh instance over the same storage reloads the window", async () => {
    const user = { name: "user", key: "user", windows: [{ limit: 5, windowSeconds: 60 }] };
    const password = { name: "password", key: "password", windows: [{ limit: 3, windowSeconds: 900 }] };
    const plan = [[user], [user, password], [user, password], [user], [user, password], [user], [user]];
    const control = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const evicted = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const summary = (d: Decision) => ({ allowed: d.allowed, remaining: d.buckets.map((b) => b.remaining) });

    const expected = [];
    for (const specs of plan) expected.push(summary(await control.take(specs)));
    // The same calls, the object replaced by a new instance (as after eviction) before each one.
    const seen = [];
    for (const specs of plan) {
      seen.push(
        summary(await runInDurableObject(evicted, (_i: RateLimiter, state) => new RateLimiter(state, env).take(specs))),
      );
    }
    expect(seen).toEqual(expected);
    // Refusals were recorded nowhere: 5 user hits and 3 password hits, in both objects.
    expect(expected.filter((d) => d.allowed)).toHaveLength(5);
    expect(await storedHits(control)).toBe(8);
    expect(await storedHits(evicted)).toBe(8);
  });

  it("clears hits that left the window on its next use, in the same write as the new hit", async () => {
    const stub = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const spec = { name: "t", key: "t", windows: [{ limit: 5, windowSeconds: 1 }] };
    await stub.take([spec]);
    await stub.take([spec]);
    expect(await storedHits(stub)).toBe(2);
    await new Promise((r) => setTimeout(r, 1100));
    // Evicted meanwhile or not, the next use finds an empty window and keeps only its own hit.
    const again = await runInDurableObject(stub, (_i: RateLimiter, state) => new RateLimiter(state, env).take([spec]));
    expect(again.allowed).toBe(true);
    expect(again.buckets[0]?.remaining).toBe(4);
    expect(await storedHits(stub)).toBe(1);
  });

  it("deletes its storage when an alarm fires on an empty window (also one set before write-through)", async () => {
    const stub = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const spec = { name: "t", key: "t", windows: [{ limit: 5, windowSeconds: 1 }] };
    await stub.take([spec]);
    await runInDurableObject(stub, (_i: RateLimiter, state) => state.storage.setAlarm(Date.now() + 60_000));
    await new Promise((r) => setTimeout(r, 1100));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await storedHits(stub)).toBeNull();
    expect(await runInDurableObject(stub, (_i: RateLimiter, state) => state.storage.getAlarm())).toBeNull();
    const next = await stub.take([spec]);
    expect(next.buckets[0]?.remaining).toBe(4);
  });

  it("an evicted object woken by its alarm: deletes everything once its rows expired, keeps live rows", async () => {
    const short = { name: "t", key: "t", windows: [{ limit: 5, windowSeconds: 1 }] };
    const long = { name: "t", key: "t", windows: [{ limit: 5, windowSeconds: 60 }] };
    const expired = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    const live = env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);
    await expired.take([short]);
    await live.take([long]);
    await new Promise((r) => setTimeout(r, 1100));
    // A new instance over the same storage, as after eviction, runs the alarm.
    const wake = (stub: typeof live) =>
      runInDurableObject(stub, async (_i: RateLimiter, state) => {
        await new RateLimiter(state, env).alarm();
        return state.storage.getAlarm();
      });
    expect(await wake(expired)).toBeNull();
    expect(await storedHits(expired)).toBeNull();
    expect(await wake(live)).toBeGreaterThan(Date.now() + 50_000);
    expect(await storedHits(live)).toBe(1);
    expect((await live.take([long])).buckets[0]?.remaining).toBe(3);
  });
});

describe("when the limiter itself fails", () => {
  const broken = {
    getByName: () => ({
      take: () => Promise.reject(new Error("limiter unavailable")),
    }),
  };

  function appWith(mode: "open" | "closed", identity?: Identity) {
    const app = new Hono<GatewayApp>();
    app.use(requestContext({ service: "test", trustCaller: false }));
    if (identity) {
      app.use(async function signedIn(c, next) {
        c.set("identity", identity);
        await next();
      });
    }
    app.use(rateLimit());
    app.all("*", (c) => c.json({ served: true }));
    app.onError(onProblem);
    return (path: string, method = "GET") =>
      app.request(
        path,
        { method, headers: { "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined },
        { ...env, RATE_LIMITER: broken, RATE_LIMIT_FAILURE_MODE: mode } as unknown as Env,
      );
  }

  it("fails open for ordinary requests by default (served, without RateLimit headers)", async () => {
    const res = await appWith("open")("/api/products");
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  it("always fails closed for logins", async () => {
    const res = await appWith("open")("/api/auth/login", "POST");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("always fails closed for password changes", async () => {
    const res = await appWith("open", { userId: "usr_01jd0000000000000000000000", role: "customer" })(
      "/api/auth/password",
      "POST",
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("fails closed for everything when configured so", async () => {
    const res = await appWith("closed")("/api/products");
    expect(res.status).toBe(503);
  });
});
