/**
 * Defensive reading of API answers: the console never trusts a shape it did not check. Each reader
 * returns a safe default for a missing or mistyped field, so a new or broken server field shows
 * as "—" rather than crashing the page.
 */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
export const obj = (value: unknown): Json => (isObject(value) ? value : {});
export const str = (value: unknown, fallback = ""): string => (typeof value === "string" ? value : fallback);
export const optStr = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
export const num = (value: unknown, fallback = 0): number =>
  typeof value === "number" && Number.isFinite(value) ? value : fallback;
export const optNum = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;
export const bool = (value: unknown): boolean => value === true;
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const items = (value: unknown): Json[] => list(obj(value).items).filter(isObject);
export const oneOf = <T extends string>(value: unknown, allowed: readonly T[], fallback: T): T =>
  allowed.includes(value as T) ? (value as T) : fallback;

export const fmt = (value: number, digits = 0): string =>
  value.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
export const pct = (share: number): string => `${fmt(share * 100, 1)}%`;
export const ms = (value: number): string => `${fmt(value, value < 10 ? 1 : 0)} ms`;
