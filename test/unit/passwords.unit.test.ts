import { afterEach, describe, expect, it, vi } from "vitest";
import {
  burnPasswordCheck,
  constantTimeEqual,
  hashPassword,
  type PasswordHash,
  PBKDF2_ITERATIONS,
  verifyPassword,
} from "../../workers/users/src/passwords";

const bytesOf = (base64: string) => Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
const base64Of = (bytes: number[]) => btoa(String.fromCharCode(...bytes));
const hexToBytes = (hex: string) => (hex.match(/../g) ?? []).map((pair) => Number.parseInt(pair, 16));

afterEach(() => {
  vi.restoreAllMocks();
});

describe("PBKDF2 cost", () => {
  it("is exactly 100,000 iterations: Cloudflare production rejects more, local workerd would not notice", () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
  });
});

describe("hashPassword", () => {
  it("stores a 32-byte PBKDF2 key, a random 16-byte salt and the iteration count", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(stored.iterations).toBe(100_000);
    expect(bytesOf(stored.salt)).toHaveLength(16);
    expect(bytesOf(stored.hash)).toHaveLength(32);
  });

  it("gives two hashes of one password different salts and different keys", async () => {
    const [a, b] = await Promise.all([hashPassword("same password", 1000), hashPassword("same password", 1000)]);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });

  it("stores the iteration count it was asked for", async () => {
    expect((await hashPassword("pw", 1234)).iterations).toBe(1234);
  });
});

describe("verifyPassword", () => {
  it("accepts the right password and refuses a wrong one", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", stored)).toBe(false);
    expect(await verifyPassword("Correct horse battery staple", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("still verifies a hash made with another iteration count, because the count is stored", async () => {
    const stored = await hashPassword("old password", 5000);
    expect(await verifyPassword("old password", stored)).toBe(true);
    // Verifying with the default count instead would not match.
    expect(await verifyPassword("old password", { ...stored, iterations: PBKDF2_ITERATIONS })).toBe(false);
  });

  it("refuses when the stored salt is changed", async () => {
    const stored = await hashPassword("pw", 1000);
    const otherSalt = base64Of([...bytesOf(stored.salt)].map((b, i) => (i === 0 ? b ^ 1 : b)));
    expect(await verifyPassword("pw", { ...stored, salt: otherSalt })).toBe(false);
  });

  it.each([
    // The RFC 6070 inputs ("password", "salt") with SHA-256 and a 32-byte output, as widely published.
    { iterations: 1, hex: "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b" },
    { iterations: 4096, hex: "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a" },
  ])("derives PBKDF2-HMAC-SHA256 (known vector, $iterations iterations)", async ({ iterations, hex }) => {
    const stored: PasswordHash = { hash: base64Of(hexToBytes(hex)), salt: btoa("salt"), iterations };
    expect(await verifyPassword("password", stored)).toBe(true);
    expect(await verifyPassword("passwore", stored)).toBe(false);
  });
});

describe("constantTimeEqual", () => {
  it.each([
    { a: [], b: [], equal: true },
    { a: [1, 2, 3], b: [1, 2, 3], equal: true },
    { a: [1, 2, 3], b: [1, 2, 4], equal: false },
    { a: [9, 2, 3], b: [1, 2, 3], equal: false },
    { a: [1, 2, 3], b: [1, 2], equal: false },
    { a: [1, 2], b: [1, 2, 0], equal: false },
    { a: [], b: [0], equal: false },
    { a: [0, 0], b: [0, 0, 0, 0], equal: false },
  ])("compares $a with $b as $equal", ({ a, b, equal }) => {
    expect(constantTimeEqual(new Uint8Array(a), new Uint8Array(b))).toBe(equal);
  });
});

describe("burnPasswordCheck", () => {
  it("resolves false for any password", async () => {
    expect(await burnPasswordCheck("anything")).toBe(false);
    expect(await burnPasswordCheck("")).toBe(false);
  });

  it("spends a real PBKDF2-SHA256 derivation at the production cost, like a real check", async () => {
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    await burnPasswordCheck("someone@example.com's guess");
    expect(deriveBits).toHaveBeenCalledTimes(1);
    expect(deriveBits.mock.calls[0]?.[0]).toMatchObject({ name: "PBKDF2", hash: "SHA-256", iterations: 100_000 });
  });
});
