import { describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { decide } from "#do/rate-limiter/sliding-window";
import {
  clientNetwork,
  parsePolicy,
  type RateLimitPolicies,
  rateLimitHeaders,
  rateLimitPlan,
} from "../../workers/gateway/src/rate-limit/policies";

function fakeCtx(): { ctx: z.RefinementCtx; messages: string[] } {
  const messages: string[] = [];
  const addIssue = vi.fn((issue: { message?: string }) => {
    messages.push(issue.message ?? "");
  });
  return { ctx: { addIssue, path: [], value: undefined } as unknown as z.RefinementCtx, messages };
}

describe("parsePolicy", () => {
  it('reads "100/900" as one window named and keyed by the policy', () => {
    expect(parsePolicy("anon", "100/900")).toEqual({
      name: "anon",
      key: "anon",
      windows: [{ limit: 100, windowSeconds: 900 }],
    });
  });

  it('reads "600/60,20000/86400" as the headline window then a looser day window', () => {
    expect(parsePolicy("user", "600/60,20000/86400")).toEqual({
      name: "user",
      key: "user",
      windows: [
        { limit: 600, windowSeconds: 60 },
        { limit: 20_000, windowSeconds: 86_400 },
      ],
    });
  });

  it("allows spaces around the numbers and the separators", () => {
    expect(parsePolicy("login", " 10 / 900 , 50 / 86400 ").windows).toEqual([
      { limit: 10, windowSeconds: 900 },
      { limit: 50, windowSeconds: 86_400 },
    ]);
  });

  it.each(["", "abc", "100", "100/", "/900", "100/900,", "100/900/5", "-1/900", "1.5/900", "100 per 900"])(
    'throws on the malformed policy "%s" when no zod context is given',
    (text) => {
      expect(() => parsePolicy("anon", text)).toThrow(`rate limit "anon":`);
      expect(() => parsePolicy("anon", text)).toThrow("is not limit/seconds");
    },
  );

  it.each([
    { text: "600/60,500/86400", why: "a lower limit over a longer window" },
    { text: "600/60,600/86400", why: "the same limit over a longer window" },
    { text: "100/900,50/60", why: "a lower limit over a shorter window" },
    { text: "600/60,100/60", why: "a lower limit over the same window" },
  ])('throws on "$text": an extra window stricter than the headline ($why)', ({ text }) => {
    expect(() => parsePolicy("user", text)).toThrow(/extra window \d+\/\d+ must be looser than \d+\/\d+/);
  });

  it("reports a malformed policy as a zod issue instead of throwing when given a context", () => {
    const { ctx, messages } = fakeCtx();
    expect(parsePolicy("anon", "lots", ctx)).toEqual({ name: "anon", key: "anon", windows: [] });
    expect(messages).toEqual(['rate limit "anon": "lots" is not limit/seconds (both at least 1)']);
  });

  it("reports a stricter extra window as a zod issue instead of throwing when given a context", () => {
    const { ctx, messages } = fakeCtx();
    parsePolicy("user", "600/60,500/86400", ctx);
    expect(messages).toEqual(['rate limit "user": extra window 500/86400 must be looser than 600/60']);
  });

  it("adds no issue for a valid policy", () => {
    const { ctx, messages } = fakeCtx();
    parsePolicy("user", "600/60,20000/86400", ctx);
    expect(messages).toEqual([]);
  });
});

describe("parsePolicy bounds", () => {
  it.each(["0/60", "100/0", "100/60,0/86400"])("refuses %s: a zero limit or window is no policy", (text) => {
    expect(() => parsePolicy("anon", text)).toThrow(/at least 1/);
  });
});

describe("clientNetwork", () => {
  it.each(["203.0.113.7", "198.51.100.255", "10.0.0.1"])("keys the IPv4 address %s as itself", (ip) => {
    expect(clientNetwork(ip)).toBe(ip);
  });

  it("trims surrounding whitespace from the address", () => {
    expect(clientNetwork(" 203.0.113.7 ")).toBe("203.0.113.7");
  });

  it.each([
    "2001:db8:abcd:12:1:2:3:4",
    "2001:db8:abcd:12::1",
    "2001:DB8:ABCD:0012::ffff",
    "2001:0db8:abcd:0012:0000:0000:0000:0000",
    "2001:db8:abcd:12::",
    "2001:db8:abcd:12:ffff:ffff:ffff:ffff",
  ])("collapses the IPv6 address %s to its /64, 2001:db8:abcd:12::/64", (ip) => {
    expect(clientNetwork(ip)).toBe("2001:db8:abcd:12::/64");
  });

  it("collapses a compressed prefix (zeros inside the first four groups) to its /64", () => {
    expect(clientNetwork("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("2001:db8:0:0:1::1")).toBe("2001:db8:0:0::/64");
  });

  it.each(["::ffff:203.0.113.9", "0:0:0:0:0:ffff:203.0.113.9", "::FFFF:203.0.113.9"])(
    "keys an IPv4-mapped address (%s) as the IPv4 client it is",
    (ip) => {
      expect(clientNetwork(ip)).toBe("203.0.113.9");
    },
  );

  it('keys the loopback "::1" by the all-zero /64', () => {
    expect(clientNetwork("::1")).toBe("0:0:0:0::/64");
  });

  it.each([undefined, ""])('keys a missing address (%j) as "unknown"', (ip) => {
    expect(clientNetwork(ip)).toBe("unknown");
  });

  it("gives different /64 networks different keys", () => {
    const a = clientNetwork("2001:db8:abcd:12::1");
    const b = clientNetwork("2001:db8:abcd:13::1");
    const c = clientNetwork("2001:db8:abce:12::1");
    expect(new Set([a, b, c]).size).toBe(3);
    expect(b).toBe("2001:db8:abcd:13::/64");
  });
});

describe("rateLimitHeaders", () => {
  it("writes one bucket in the structured-field form of SPEC section 3", () => {
    expect(
      rateLimitHeaders([{ name: "anon", limit: 100, windowSeconds: 900, remaining: 57, resetSeconds: 412 }]),
    ).toEqual({ policy: '"anon";q=100;w=900', state: '"anon";r=57;t=412' });
  });

  it('joins two buckets with ", " in the order given', () => {
    expect(
      rateLimitHeaders([
        { name: "anon", limit: 100, windowSeconds: 900, remaining: 98, resetSeconds: 800 },
        { name: "login", limit: 10, windowSeconds: 900, remaining: 0, resetSeconds: 600 },
      ]),
    ).toEqual({
      policy: '"anon";q=100;w=900, "login";q=10;w=900',
      state: '"anon";r=98;t=800, "login";r=0;t=600',
    });
  });
});

describe("rateLimitPlan: which object and buckets decide a request", () => {
  const policies: RateLimitPolicies = {
    anon: parsePolicy("anon", "100/900"),
    user: parsePolicy("user", "600/60"),
    login: parsePolicy("login", "10/900"),
    password: parsePolicy("password", "10/900"),
  };
  const request = { network: "203.0.113.7", email: "ada@example.com" };

  it("an anonymous request counts under anon in its network's object and may fail open", () => {
    expect(rateLimitPlan({ ...request, method: "GET", path: "/api/products" }, policies)).toEqual({
      subject: "ip:203.0.113.7",
      specs: [policies.anon],
      failClosed: false,
    });
  });

  it("a signed-in request counts under user in its sub's object and may fail open", () => {
    expect(rateLimitPlan({ ...request, method: "GET", path: "/api/users/me", userId: "usr_1" }, policies)).toEqual({
      subject: "user:usr_1",
      specs: [policies.user],
      failClosed: false,
    });
  });

  it("a login counts under anon and login:<email> in the network's object, and always fails closed", () => {
    const plan = rateLimitPlan({ ...request, method: "POST", path: "/api/auth/login" }, policies);
    expect(plan).toEqual({
      subject: "ip:203.0.113.7",
      specs: [policies.anon, { ...policies.login, key: "login:ada@example.com" }],
      failClosed: true,
    });
  });

  it("a password change counts under user and password in the sub's object, and always fails closed", () => {
    const plan = rateLimitPlan({ ...request, method: "POST", path: "/api/auth/password", userId: "usr_1" }, policies);
    expect(plan).toEqual({ subject: "user:usr_1", specs: [policies.user, policies.password], failClosed: true });
  });

  it("only POST /api/auth/password is a password change; without a user it is an anonymous request", () => {
    const get = rateLimitPlan({ ...request, method: "GET", path: "/api/auth/password", userId: "usr_1" }, policies);
    expect(get.specs).toEqual([policies.user]);
    const anonymous = rateLimitPlan({ ...request, method: "POST", path: "/api/auth/password" }, policies);
    expect(anonymous.specs).toEqual([policies.anon]);
  });

  it("with SPEC's quotas the 11th password change in 900 s is refused, and a refusal charges neither bucket", () => {
    const { specs } = rateLimitPlan({ ...request, method: "POST", path: "/api/auth/password", userId: "u" }, policies);
    const log = new Map<string, number[]>();
    const take = (now: number) => {
      const decision = decide(specs, log, now);
      if (decision.allowed) for (const spec of specs) log.set(spec.key, [...(log.get(spec.key) ?? []), now]);
      return decision;
    };
    const decisions = Array.from({ length: 15 }, (_, i) => take(1_000_000 + i * 1000));
    expect(decisions.map((d) => d.allowed)).toEqual([...Array(10).fill(true), ...Array(5).fill(false)]);
    expect(decisions[10]?.retryAfterSeconds).toBeGreaterThan(0);
    expect(log.get("user")).toHaveLength(10);
    expect(log.get("password")).toHaveLength(10);
    // Once the first change leaves the 900 s window, one more is admitted.
    expect(take(1_000_000 + 900_000 + 1).allowed).toBe(true);
  });
});
