/**
 * Background cost per Durable Object: what an object costs the runtime after its request, while
 * nobody calls it (its clean-up alarm, its storage deleted, its eviction). N requests each create
 * one object; the bench then leaves the system alone for a wait long enough for every object's
 * housekeeping to have run, and charges the workerd CPU of that wait, less the idle rate, to the N
 * objects. Measured for the RateLimiter (one authenticated request per new user: its window,
 * written through to SQLite, and its one clean-up alarm) and, as the runtime's floor, for an object
 * that writes one row and has no housekeeping at all (the primitives Worker's `/do-new`).
 */
import type { BenchUser } from "./data.ts";
import { bearer } from "./load.ts";
import { cpuUs } from "./proc.ts";

export interface ObjectBackground {
  what: string;
  objects: number;
  /** workerd CPU per request (each creates its object), microseconds. */
  firstRequestCpuUs: number;
  /** The idle workerd CPU rate (the lower of before and after), microseconds per second. */
  idleCpuUsPerSecond: number;
  /** How long the bench waited after the last request, seconds. */
  waitedSeconds: number;
  /** workerd CPU over the wait, less the idle rate, per object, milliseconds. */
  backgroundMsPerObject: number;
  unexpected: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const IDLE_SECONDS = 15;

async function idleRate(pid: number): Promise<number> {
  const start = cpuUs(pid);
  await sleep(IDLE_SECONDS * 1000);
  return (cpuUs(pid) - start) / IDLE_SECONDS;
}

async function background(
  what: string,
  requests: readonly (() => Promise<Response>)[],
  pid: number,
  waitedSeconds: number,
): Promise<ObjectBackground> {
  await sleep(5_000); // whatever ran before settles
  const idleBefore = await idleRate(pid);
  let unexpected = 0;
  const requestStart = cpuUs(pid);
  for (let i = 0; i < requests.length; i += 10) {
    await Promise.all(
      requests.slice(i, i + 10).map(async (send) => {
        const response = await send();
        await response.arrayBuffer();
        if (response.status !== 200) unexpected += 1;
      }),
    );
  }
  const firstRequestCpuUs = (cpuUs(pid) - requestStart) / requests.length;
  const waitStart = cpuUs(pid);
  await sleep(waitedSeconds * 1000);
  const waited = cpuUs(pid) - waitStart;
  // The idle rate again once everything has run; the lower of the two is charged as idle, so
  // background work left over from before is not hidden in the baseline.
  const idle = Math.min(idleBefore, await idleRate(pid));
  return {
    what,
    objects: requests.length,
    firstRequestCpuUs,
    idleCpuUsPerSecond: idle,
    waitedSeconds,
    backgroundMsPerObject: Math.max(0, waited - idle * waitedSeconds) / requests.length / 1000,
    unexpected,
  };
}

/**
 * The RateLimiter's: one authenticated read per user through the gateway. `policy` is the user
 * quota as configured ("600/60"): each object's alarm is due one window after its hit.
 */
export function limiterBackground(
  gateway: URL,
  users: readonly BenchUser[],
  pid: number,
  policy: string,
): Promise<ObjectBackground> {
  const windowSeconds = Number(policy.split("/")[1]);
  if (!Number.isFinite(windowSeconds)) throw new Error(`unreadable RATE_LIMIT_USER ${policy}`);
  const url = new URL("/api/users/me", gateway);
  return background(
    "RateLimiter (one authenticated read per new user)",
    users.map((user) => () => fetch(url, { headers: bearer(user) })),
    pid,
    windowSeconds + 15,
  );
}

/** The floor: a new object that writes one row and never has housekeeping. */
export function floorBackground(primitives: URL, count: number, pid: number, waitedSeconds: number) {
  const url = new URL("/do-new", primitives);
  return background(
    "an object with one row and no housekeeping (runtime floor)",
    Array.from({ length: count }, () => () => fetch(url)),
    pid,
    waitedSeconds,
  );
}
