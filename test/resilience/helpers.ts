import { env } from "cloudflare:workers";

/** The shortened times of this test project (see vitest.config.ts). */
export const OPEN_MS = 300;
export const PROBE_LEASE_MS = 200;
export const THRESHOLD = 5;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A breaker no other test uses. */
export function freshBreaker(label = "dep") {
  const name = `${label}:${crypto.randomUUID()}`;
  return { name, stub: env.CIRCUIT_BREAKER.getByName(name) };
}

type Stub = ReturnType<typeof freshBreaker>["stub"];

/** Records `THRESHOLD` transient failures, which opens a closed breaker. */
export async function openIt(stub: Stub): Promise<void> {
  for (let i = 0; i < THRESHOLD; i++) await stub.record("failure");
}

/** Opens the breaker and waits until its first acquire() will be the probe. */
export async function openAndWait(stub: Stub): Promise<void> {
  await openIt(stub);
  await sleep(OPEN_MS + 30);
}
