import { sha256Hex } from "#shared/hash";

/**
 * The Idempotency-Key header (IETF draft "The Idempotency-Key HTTP Header Field"): an sf-string
 * (`"..."`) or a bare token of 1..255 visible ASCII characters. A repeated header reaches us
 * joined with ", ", which no valid value contains outside quotes, so it is refused as malformed.
 */
export type KeyParse = { ok: true; key: string } | { ok: false; detail: string };

const BARE = /^[\x21-\x7e]{1,255}$/;

export function parseIdempotencyKey(header: string | null | undefined): KeyParse {
  if (header === null || header === undefined || header.trim() === "") {
    return { ok: false, detail: "Send an Idempotency-Key header with each order." };
  }
  const value = header.trim();
  if (value.startsWith('"')) {
    // sf-string: printable ASCII, with \" and \\ as the only escapes, one string only.
    const match = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(value);
    const key = match?.[1]?.replace(/\\(["\\])/g, "$1");
    if (key === undefined || key.length < 1 || key.length > 255) {
      return { ok: false, detail: "Idempotency-Key must be one quoted string of 1..255 characters." };
    }
    return { ok: true, key };
  }
  if (!BARE.test(value)) {
    return { ok: false, detail: "Idempotency-Key must be 1..255 visible ASCII characters, sent once." };
  }
  return { ok: true, key: value };
}

/** A canonical JSON text: object keys sorted, so equal bodies hash equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function requestFingerprint(method: string, path: string, body: unknown): Promise<string> {
  return sha256Hex(`${method} ${path}\n${canonicalJson(body)}`);
}
