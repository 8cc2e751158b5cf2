import type { AuditEntry } from "#shared/contracts/ops";
import { sha256Hex } from "#shared/hash";

/** The `prevHash` of the first entry ever written. */
export const GENESIS_HASH = "0".repeat(64);

/** JSON with object keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** Every field of an entry but its own hash, in a fixed order: what the hash covers. */
export function hashedFields(entry: Omit<AuditEntry, "hash">): string {
  return canonicalJson([
    entry.seq,
    entry.at,
    entry.actor.type,
    entry.actor.id,
    entry.action,
    entry.target,
    entry.before ?? null,
    entry.after ?? null,
    entry.requestId,
    entry.traceId,
    entry.prevHash,
  ]);
}

export function entryHash(entry: Omit<AuditEntry, "hash">): Promise<string> {
  return sha256Hex(hashedFields(entry));
}

/**
 * Checks a run of entries in ascending `seq`: consecutive numbers, each `prevHash` the hash of the
 * one before (the first one's is trusted as the anchor: retention removes older entries), and each
 * hash recomputed from the entry's fields. Returns the first entry that fails, if any.
 */
export async function firstBadEntry(
  entries: readonly AuditEntry[],
  anchor: { seq: number; hash: string } | undefined,
): Promise<number | undefined> {
  let previous = anchor;
  for (const entry of entries) {
    if (previous && (entry.seq !== previous.seq + 1 || entry.prevHash !== previous.hash)) return entry.seq;
    const { hash, ...rest } = entry;
    if ((await entryHash(rest)) !== hash) return entry.seq;
    previous = { seq: entry.seq, hash };
  }
  return undefined;
}
