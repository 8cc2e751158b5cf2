import * as z from "zod";
import { intVar, readConfig } from "#shared/config";

export interface NotificationsConfig {
  /** Delay of the first retry of an event that cannot be handled yet; it doubles each time. */
  retryBaseSeconds: number;
  /** Inbox rows older than this are deleted (the notifications themselves stay). */
  inboxRetentionDays: number;
}

const ConfigSchema = z.object({
  NOTIFICATION_RETRY_BASE_SECONDS: intVar(0, { fallback: 1 }),
  INBOX_RETENTION_DAYS: intVar(1, { fallback: 30 }),
});

export function notificationsConfig(env: Env): NotificationsConfig {
  const vars = readConfig(ConfigSchema, env);
  return { retryBaseSeconds: vars.NOTIFICATION_RETRY_BASE_SECONDS, inboxRetentionDays: vars.INBOX_RETENTION_DAYS };
}

/** The longest a retry waits: the whole retry budget (max_retries 10) spans about 13 minutes. */
const MAX_RETRY_DELAY_SECONDS = 300;

/** Exponential from the base (`attempts` counts deliveries so far, from 1), capped. */
export function retryDelaySeconds(baseSeconds: number, attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
}
