/** Reads an integer setting from a var: unset or empty gives the default; anything else invalid throws. */
export function integerVar(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    throw new Error(`${name} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
