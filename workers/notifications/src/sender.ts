import { createLogger } from "#shared/log";
import { parseTraceparent } from "#shared/trace";
import type { Channel } from "./templates";

/** One message on its way out, as stored in notifications-db. */
export interface Outgoing {
  notificationId: string;
  channel: Channel;
  to: string;
  /** Email only. */
  subject: string | null;
  body: string;
  /** The trace of the request that caused the event. */
  traceparent: string | null;
}

/**
 * The channels whose provider takes an idempotency key (the email API: the notification id), so a
 * send may be repeated after a lost answer or a failed write: those go exactly once. SMS APIs
 * take none, so SMS goes at most once: recorded as sent before the send, never repeated.
 */
export const IDEMPOTENT_CHANNELS: ReadonlySet<Channel> = new Set(["email"]);

/** Delivers one message; throws if it was not accepted. */
export interface Sender {
  send(message: Outgoing): Promise<void>;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Where the local sender writes each call (notifications-db's `deliveries`). */
export interface DeliveryLog {
  recordDelivery(message: Outgoing, now: number): Promise<void>;
}

/** Records each send as a row and a log line instead of sending: local dev and tests. */
export class LocalSender implements Sender {
  constructor(
    private readonly deliveries: DeliveryLog,
    private readonly now: () => number = Date.now,
  ) {}

  async send(message: Outgoing): Promise<void> {
    await this.deliveries.recordDelivery(message, this.now());
    const trace = parseTraceparent(message.traceparent);
    createLogger({ service: "shop-notifications", ...(trace ? { traceId: trace.traceId } : {}) }).info(
      `${message.channel} delivered (local sender)`,
      {
        notificationId: message.notificationId,
        channel: message.channel,
        to: message.to,
        subject: message.subject,
      },
    );
  }
}

export interface HttpSenderConfig {
  emailFrom: string;
  emailApiUrl: string;
  emailApiKey: string;
  smsFrom: string;
  smsApiUrl: string;
  smsAccountSid: string;
  smsAuthToken: string;
  /** Per request; a provider that does not answer in time counts as a failure. */
  timeoutMs?: number;
}

/**
 * Sends for real: email through an HTTP email API in Resend's shape (the notification id as
 * `Idempotency-Key`, so a resend after a lost answer is not a second email), SMS through
 * Twilio's Messages API. Any answer but 2xx throws.
 */
export class HttpSender implements Sender {
  constructor(
    private readonly config: HttpSenderConfig,
    private readonly fetchFn: FetchLike,
  ) {}

  async send(message: Outgoing): Promise<void> {
    const { url, init } = message.channel === "email" ? this.#email(message) : this.#sms(message);
    const response = await this.fetchFn(url, { ...init, signal: AbortSignal.timeout(this.config.timeoutMs ?? 10_000) });
    if (!response.ok) {
      const detail = (await response.text().catch(() => "")).slice(0, 300);
      throw new Error(`${message.channel} provider answered ${response.status}: ${detail}`);
    }
    await response.body?.cancel();
  }

  #email(message: Outgoing): { url: string; init: RequestInit } {
    return {
      url: this.config.emailApiUrl,
      init: {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.config.emailApiKey}`,
          "content-type": "application/json",
          "idempotency-key": message.notificationId,
        },
        body: JSON.stringify({
          from: this.config.emailFrom,
          to: [message.to],
          subject: message.subject ?? "",
          text: message.body,
        }),
      },
    };
  }

  #sms(message: Outgoing): { url: string; init: RequestInit } {
    const { smsApiUrl, smsAccountSid, smsAuthToken } = this.config;
    return {
      url: `${smsApiUrl.replace(/\/+$/, "")}/Accounts/${encodeURIComponent(smsAccountSid)}/Messages.json`,
      init: {
        method: "POST",
        headers: {
          authorization: `Basic ${btoa(`${smsAccountSid}:${smsAuthToken}`)}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ To: message.to, From: this.config.smsFrom, Body: message.body }).toString(),
      },
    };
  }
}

/** The sender's secrets: set with `wrangler secret put`, never in wrangler.toml. */
export interface SenderSecrets {
  EMAIL_API_KEY?: string;
  SMS_ACCOUNT_SID?: string;
  SMS_AUTH_TOKEN?: string;
}

export type SenderEnv = Pick<Env, "NOTIFICATION_SENDER" | "EMAIL_FROM" | "EMAIL_API_URL" | "SMS_FROM" | "SMS_API_URL"> &
  SenderSecrets;

/**
 * The sender `NOTIFICATION_SENDER` names: `local` or `http`. Anything else, or `http` without
 * its settings, throws before any message is handled.
 */
export function senderFor(
  env: SenderEnv,
  deliveries: DeliveryLog,
  fetchFn: FetchLike = (input, init) => fetch(input, init),
): Sender {
  switch (env.NOTIFICATION_SENDER) {
    case "local":
      return new LocalSender(deliveries);
    case "http":
      return new HttpSender(httpConfig(env), fetchFn);
    default:
      throw new Error(
        `NOTIFICATION_SENDER must be "local" or "http", got ${JSON.stringify(env.NOTIFICATION_SENDER ?? null)}`,
      );
  }
}

function httpConfig(env: SenderEnv): HttpSenderConfig {
  const required = {
    EMAIL_FROM: env.EMAIL_FROM,
    EMAIL_API_URL: env.EMAIL_API_URL,
    EMAIL_API_KEY: env.EMAIL_API_KEY,
    SMS_FROM: env.SMS_FROM,
    SMS_API_URL: env.SMS_API_URL,
    SMS_ACCOUNT_SID: env.SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN: env.SMS_AUTH_TOKEN,
  };
  const missing = Object.entries(required)
    .filter(([, value]) => !value?.trim())
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(
      `NOTIFICATION_SENDER = "http" needs ${missing.join(", ")} (secrets: wrangler secret put <NAME>; the rest are vars)`,
    );
  }
  for (const name of ["EMAIL_API_URL", "SMS_API_URL"] as const) {
    if (!URL.canParse(required[name] as string)) throw new Error(`${name} is not a URL: ${required[name]}`);
  }
  return {
    emailFrom: required.EMAIL_FROM,
    emailApiUrl: required.EMAIL_API_URL,
    emailApiKey: required.EMAIL_API_KEY as string,
    smsFrom: required.SMS_FROM,
    smsApiUrl: required.SMS_API_URL,
    smsAccountSid: required.SMS_ACCOUNT_SID as string,
    smsAuthToken: required.SMS_AUTH_TOKEN as string,
  };
}
