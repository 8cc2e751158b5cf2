import { integerVar } from "../../shared/src/config";

export interface NotificationsConfig {
  /** Delay of the first retry of an event that cannot be handled yet; it doubles each time. */
  retryBaseSeconds: number;
  /** Inbox rows older than this are deleted (the notifications themselves stay). */
  inboxRetentionDays: number;
}

export function notificationsConfig(env: Env): NotificationsConfig {
  return {
    retryBaseSeconds: integerVar("NOTIFICATION_RETRY_BASE_SECONDS", env.NOTIFICATION_RETRY_BASE_SECONDS, 1, 0),
    inboxRetentionDays: integerVar("INBOX_RETENTION_DAYS", env.INBOX_RETENTION_DAYS, 30, 1),
  };
}

/** The longest a retry waits: the whole retry budget (max_retries 10) spans about 13 minutes. */
const MAX_RETRY_DELAY_SECONDS = 300;

/** Exponential from the base (`attempts` counts deliveries so far, from 1), capped. */
export function retryDelaySeconds(baseSeconds: number, attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
}
