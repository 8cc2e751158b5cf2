import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createLogger } from "#shared/log";
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

  /** The repository with every write about `notificationId` after its send failing, as a D1 outage would. */
  function repoFailingAfterSend(notificationId: string): NotificationsRepository {
    const failing = Object.create(repo) as NotificationsRepository;
    const boom = async (id: string) => {
      if (id === notificationId) throw new Error("D1 unavailable");
    };
    failing.markSent = async (id, now) => {
      await boom(id);
      return repo.markSent(id, now);
    };
    failing.markFailed = async (id, now, reason) => {
      await boom(id);
      return repo.markFailed(id, now, reason);
    };
    return failing;
  }

  const rowOf = async (eventId: string, channel: "email" | "sms") =>
    (await notificationsOfEvent(eventId)).find((n) => n.channel === channel) as NonNullable<
      Awaited<ReturnType<typeof notificationsOfEvent>>[number]
    >;

  it("SMS is at most once: when the write after a successful send fails, no redelivery sends it again", async () => {
    const eventId = await recorded();
    const smsRow = await rowOf(eventId, "sms");
    const sender = recordingSender();
    const now = Date.now();
    const failing: ConsumerDeps = { repo: repoFailingAfterSend(smsRow.id), sender, now: () => now };
    await deliverEvent(failing, eventId, log).catch(() => undefined);
    expect(sender.sent.filter((m) => m.channel === "sms")).toHaveLength(1);

    // Redeliveries, at once and after any claim would have expired, send no second SMS.
    await deliverEvent(
      deps(sender, () => now + 1),
      eventId,
      log,
    ).catch(() => undefined);
    await deliverEvent(
      deps(sender, () => now + CLAIM_MS + 1),
      eventId,
      log,
    );
    await deliverEvent(
      deps(sender, () => now + 10 * CLAIM_MS),
      eventId,
      log,
    );
    expect(sender.sent.filter((m) => m.channel === "sms")).toHaveLength(1);
    expect(sender.sent.filter((m) => m.channel === "email")).toHaveLength(1);
    expect((await rowOf(eventId, "sms")).sent_at).not.toBeNull();
  });

  it("a failed SMS send is recorded as failed and never retried; the email still goes", async () => {
    const eventId = await recorded();
    const sent: Outgoing[] = [];
    const smsDown: Sender = {
      async send(message) {
        if (message.channel === "sms") throw new Error("SMS provider answered 500");
        sent.push(message);
      },
    };
    await expect(deliverEvent(deps(smsDown), eventId, log)).resolves.toEqual({ kind: "done" });
    const failed = await rowOf(eventId, "sms");
    expect(failed.sent_at).toBeNull();
    expect(failed.failed_at).not.toBeNull();
    expect(failed.failure).toContain("SMS provider answered 500");

    const again = recordingSender();
    await expect(
      deliverEvent(
        deps(again, () => Date.now() + CLAIM_MS + 1),
        eventId,
        log,
      ),
    ).resolves.toEqual({
      kind: "done",
    });
    expect(again.sent).toEqual([]);
    expect(sent.map((m) => m.channel)).toEqual(["email"]);
  });

  it("email stays exactly once: when the write after a send fails it is retried with the same Idempotency-Key", async () => {
    const eventId = await recorded();
    const emailRow = await rowOf(eventId, "email");
    const { calls, fetchFn } = recordingFetch();
    const sender = new HttpSender(CONFIG, fetchFn);
    const now = Date.now();
    await expect(
      deliverEvent({ repo: repoFailingAfterSend(emailRow.id), sender, now: () => now }, eventId, log),
    ).rejects.toThrow("D1 unavailable");
    expect((await rowOf(eventId, "email")).sent_at).toBeNull();

    // The claim holds off an immediate redelivery; once it expires the email is sent again.
    await expect(
      deliverEvent(
        deps(sender, () => now + 1),
        eventId,
        log,
      ),
    ).resolves.toMatchObject({ kind: "later" });
    await expect(
      deliverEvent(
        deps(sender, () => now + CLAIM_MS + 1),
        eventId,
        log,
      ),
    ).resolves.toEqual({
      kind: "done",
    });
    const emails = calls.filter((c) => c.url === CONFIG.emailApiUrl);
    expect(emails).toHaveLength(2);
    expect(emails.map((c) => headerOf(c.init, "idempotency-key"))).toEqual([emailRow.id, emailRow.id]);
    expect((await rowOf(eventId, "email")).sent_at).not.toBeNull();
    // The SMS went once, on the first delivery.
    expect(calls.filter((c) => c.url !== CONFIG.emailApiUrl)).toHaveLength(1);
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
