import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLAIM_MS, type ConsumerDeps, deliver as deliverEvent } from "../../workers/notifications/src/consumer";
import NotificationsService from "../../workers/notifications/src/index";
import { NotificationsRepository } from "../../workers/notifications/src/repository";
import {
  type FetchLike,
  HttpSender,
  type HttpSenderConfig,
  LocalSender,
  type Outgoing,
  type Sender,
  type SenderEnv,
  senderFor,
} from "../../workers/notifications/src/sender";
import { createLogger } from "../../workers/shared/src/log";
import { deliveryCounts, newTraceparent, newUser, notificationsOfEvent, userCreated } from "./helpers";

/** The senders, their choice by configuration, and the claim that makes each message go out once. */

const CONFIG: HttpSenderConfig = {
  emailFrom: "edge-shop <orders@edge-shop.example>",
  emailApiUrl: "https://email.example/emails",
  emailApiKey: "re_test_key",
  smsFrom: "+15005550006",
  smsApiUrl: "https://sms.example/2010-04-01/",
  smsAccountSid: "AC0123456789",
  smsAuthToken: "token-secret",
};

const email: Outgoing = {
  notificationId: "ntf_01jd0000000000000000000000",
  channel: "email",
  to: "ada@example.com",
  subject: "Order ord_1 shipped",
  body: "Your order is on its way.",
  traceparent: null,
};

const sms: Outgoing = {
  notificationId: "ntf_01jd0000000000000000000001",
  channel: "sms",
  to: "+14155550123",
  subject: null,
  body: "Welcome to edge-shop & co!",
  traceparent: null,
};

function recordingFetch(status = 200, answer = "{}") {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn: FetchLike = async (url, init) => {
    calls.push({ url, init });
    return new Response(answer, { status });
  };
  return { calls, fetchFn };
}

const headerOf = (init: RequestInit | undefined, name: string) => new Headers(init?.headers).get(name);

describe("HttpSender", () => {
  it("sends email in Resend's shape with the API key and the notification id as Idempotency-Key", async () => {
    const { calls, fetchFn } = recordingFetch();
    await new HttpSender(CONFIG, fetchFn).send(email);
    expect(calls).toHaveLength(1);
    const [{ url, init }] = calls as [{ url: string; init: RequestInit }];
    expect(url).toBe("https://email.example/emails");
    expect(init.method).toBe("POST");
    expect(headerOf(init, "authorization")).toBe("Bearer re_test_key");
    expect(headerOf(init, "idempotency-key")).toBe(email.notificationId);
    expect(headerOf(init, "content-type")).toBe("application/json");
    expect(JSON.parse(String(init.body))).toEqual({
      from: CONFIG.emailFrom,
      to: ["ada@example.com"],
      subject: "Order ord_1 shipped",
      text: "Your order is on its way.",
    });
    expect(init.signal).toBeInstanceOf(AbortSignal);
  });

  it("sends SMS through Twilio's Messages API, form-encoded, with Basic auth", async () => {
    const { calls, fetchFn } = recordingFetch(201);
    await new HttpSender(CONFIG, fetchFn).send(sms);
    const [{ url, init }] = calls as [{ url: string; init: RequestInit }];
    expect(url).toBe("https://sms.example/2010-04-01/Accounts/AC0123456789/Messages.json");
    expect(init.method).toBe("POST");
    expect(headerOf(init, "authorization")).toBe(`Basic ${btoa("AC0123456789:token-secret")}`);
    expect(headerOf(init, "content-type")).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(String(init.body));
    expect(Object.fromEntries(form)).toEqual({
      To: "+14155550123",
      From: "+15005550006",
      Body: "Welcome to edge-shop & co!",
    });
  });

  it("throws on any answer but 2xx, naming the status", async () => {
    for (const status of [400, 429, 500, 503]) {
      const { fetchFn } = recordingFetch(status, '{"message":"nope"}');
      await expect(new HttpSender(CONFIG, fetchFn).send(email)).rejects.toThrow(new RegExp(`${status}.*nope`));
      await expect(new HttpSender(CONFIG, fetchFn).send(sms)).rejects.toThrow(String(status));
    }
  });
});

describe("senderFor", () => {
  const base: SenderEnv = {
    NOTIFICATION_SENDER: "local",
    EMAIL_FROM: CONFIG.emailFrom,
    EMAIL_API_URL: CONFIG.emailApiUrl,
    SMS_FROM: CONFIG.smsFrom,
    SMS_API_URL: CONFIG.smsApiUrl,
  };
  const repo = new NotificationsRepository(env.DB);

  it("local gives the local sender; http with every setting gives the HTTP sender", () => {
    expect(senderFor(base, repo)).toBeInstanceOf(LocalSender);
    const http = senderFor(
      {
        ...base,
        NOTIFICATION_SENDER: "http",
        EMAIL_API_KEY: "k",
        SMS_ACCOUNT_SID: "AC1",
        SMS_AUTH_TOKEN: "t",
      },
      repo,
    );
    expect(http).toBeInstanceOf(HttpSender);
  });

  it("rejects an unknown NOTIFICATION_SENDER with a clear message", () => {
    for (const value of ["smtp", "", "LOCAL"]) {
      expect(() => senderFor({ ...base, NOTIFICATION_SENDER: value }, repo)).toThrow(
        /NOTIFICATION_SENDER must be "local" or "http"/,
      );
    }
  });

  it("rejects http without its secrets, naming each missing one", () => {
    expect(() => senderFor({ ...base, NOTIFICATION_SENDER: "http", EMAIL_API_KEY: "k" }, repo)).toThrow(
      /needs SMS_ACCOUNT_SID, SMS_AUTH_TOKEN/,
    );
    expect(() =>
      senderFor({ ...base, NOTIFICATION_SENDER: "http", SMS_ACCOUNT_SID: "AC1", SMS_AUTH_TOKEN: "t" }, repo),
    ).toThrow(/needs EMAIL_API_KEY/);
    expect(() =>
      senderFor(
        {
          ...base,
          SMS_FROM: "",
          NOTIFICATION_SENDER: "http",
          EMAIL_API_KEY: "k",
          SMS_ACCOUNT_SID: "A",
          SMS_AUTH_TOKEN: "t",
        },
        repo,
      ),
    ).toThrow(/needs SMS_FROM/);
  });

  it("the Worker's health reports a bad sender setting", async () => {
    const ok = new NotificationsService(createExecutionContext(), env);
    await expect(ok.health()).resolves.toEqual({ status: "ok", service: "shop-notifications" });
    const bad = new NotificationsService(createExecutionContext(), { ...env, NOTIFICATION_SENDER: "carrier-pigeon" });
    await expect(bad.health()).rejects.toThrow(/NOTIFICATION_SENDER/);
  });
});

describe("the delivery claim", () => {
  const repo = new NotificationsRepository(env.DB);
  const log = createLogger({ service: "shop-notifications-test", traceId: "4bf92f3577b34da6a3ce929d0e0e4736" });

  /** An event recorded with its two messages (email and SMS), not sent yet. */
  async function recorded(): Promise<string> {
    const user = newUser({ phone: "+14155550123" });
    const event = userCreated(user, newTraceparent());
    await repo.record(
      {
        event,
        userId: user.userId,
        orderId: null,
        messages: [
          { channel: "email", template: "user.created", to: user.email, subject: "Welcome", body: "Hi" },
          { channel: "sms", template: "user.created", to: user.phone as string, subject: null, body: "Hi" },
        ],
      },
      Date.now(),
    );
    return event.id;
  }

  function recordingSender(fail = false): Sender & { sent: Outgoing[] } {
    const sent: Outgoing[] = [];
    return {
      sent,
      async send(message) {
        if (fail) throw new Error("provider down");
        sent.push(message);
      },
    };
  }

  const deps = (sender: Sender, now = Date.now): ConsumerDeps => ({ repo, sender, now });

  it("a failed send gives the claim back and propagates; the next delivery sends", async () => {
    const eventId = await recorded();
    await expect(deliverEvent(deps(recordingSender(true)), eventId, log)).rejects.toThrow("provider down");
    const afterFailure = await notificationsOfEvent(eventId);
    expect(afterFailure.map((n) => [n.sent_at, n.claimed_until])).toEqual([
      [null, null],
      [null, null],
    ]);

    const sender = recordingSender();
    await expect(deliverEvent(deps(sender), eventId, log)).resolves.toEqual({ kind: "done" });
    expect(sender.sent.map((m) => m.channel).sort()).toEqual(["email", "sms"]);
    const sent = await notificationsOfEvent(eventId);
    expect(sent.every((n) => n.sent_at !== null && n.claimed_until === null)).toBe(true);

    const again = recordingSender();
    await expect(deliverEvent(deps(again), eventId, log)).resolves.toEqual({ kind: "done" });
    expect(again.sent).toEqual([]);
  });

  it("a message claimed by another delivery is not sent twice; it is retried, and sent once the claim expires", async () => {
    const eventId = await recorded();
    const [first] = await notificationsOfEvent(eventId);
    const now = Date.now();
    expect(await repo.claim(first?.id as string, now + CLAIM_MS, now)).toBe(true);
    // A second claim while the first holds fails.
    expect(await repo.claim(first?.id as string, now + CLAIM_MS, now + 1)).toBe(false);

    const sender = recordingSender();
    const outcome = await deliverEvent(deps(sender), eventId, log);
    expect(outcome.kind).toBe("later");
    expect(sender.sent.map((m) => m.notificationId)).not.toContain(first?.id);
    expect(sender.sent).toHaveLength(1);

    // The holder vanished: after the claim's time another delivery sends it.
    const later = recordingSender();
    const outcomeLater = await deliverEvent(
      deps(later, () => now + CLAIM_MS + 1),
      eventId,
      log,
    );
    expect(outcomeLater).toEqual({ kind: "done" });
    expect(later.sent.map((m) => m.notificationId)).toEqual([first?.id]);
  });

  it("the local sender records each call as a deliveries row", async () => {
    const eventId = await recorded();
    const [row] = await notificationsOfEvent(eventId);
    const message: Outgoing = {
      notificationId: row?.id as string,
      channel: "email",
      to: "x@example.com",
      subject: "s",
      body: "b",
      traceparent: null,
    };
    const local = new LocalSender(repo);
    await local.send(message);
    await local.send(message);
    // Not unique on purpose: a duplicate send would be visible.
    expect(await deliveryCounts([message.notificationId])).toEqual({ [message.notificationId]: 2 });
  });
});
