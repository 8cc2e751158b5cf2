/** One notification owed to one channel (a row of the AlertManager's `deliveries`). */
export interface Delivery {
  key: string;
  channel: "email" | "webhook";
  subject: string;
  text: string;
  /** The alert record and the notification, as JSON. */
  alert: string;
  attempts: number;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * Hands one notification to its channel; throws unless it was accepted (the caller retries).
 * Email goes through shop-notifications' sender (the key is its idempotency key); the webhook gets
 * Slack-compatible JSON, `text` plus the alert's fields.
 */
export async function deliver(env: Env, delivery: Delivery): Promise<void> {
  if (delivery.channel === "email") {
    const result = await env.NOTIFICATIONS.sendOperatorEmail({
      to: env.ALERT_EMAIL_TO,
      subject: delivery.subject,
      body: delivery.text,
      idempotencyKey: delivery.key,
    });
    if (!result.ok) throw new Error(`operator email refused: ${result.code}: ${result.detail}`);
    return;
  }
  const response = await fetch(env.ALERT_WEBHOOK_URL, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": delivery.key },
    body: JSON.stringify({ text: delivery.text, alert: JSON.parse(delivery.alert) }),
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`webhook answered ${response.status}`);
}
