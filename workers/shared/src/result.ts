import type { ErrorCode } from "./errors";
import { ProblemException } from "./problem";

/**
 * Errors across RPC are values: custom fields and `cause` do not survive a service binding, so an
 * expected failure is returned as `{ok: false, code, detail}` and only bugs throw.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; detail: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, detail: string): Result<T> {
  return { ok: false, code, detail };
}

/** For HTTP layers: the value, or the problem the failure maps to (through the one code table). */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ProblemException(result.code, { detail: result.detail });
}
