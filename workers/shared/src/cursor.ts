/**
 * Keyset pagination: a list is ordered by a pair (a time, then an id) and a page ends at the pair
 * of its last item; the next page starts after it. Unlike an offset it neither skips nor repeats
 * items when rows are added between pages. Clients treat the cursor as opaque (base64url of a
 * JSON pair); each list checks the decoded pair against its own shape.
 */
export type CursorPair = [string, string];

export function encodeCursor(first: string, second: string): string {
  return btoa(JSON.stringify([first, second]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

export function decodeCursor(cursor: string | undefined): CursorPair | undefined {
  if (!cursor) return undefined;
  try {
    const value: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string")) {
      return value as CursorPair;
    }
  } catch {
    // not ours
  }
  return undefined;
}
