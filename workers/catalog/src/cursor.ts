import { z } from "zod";
import { ProductIdSchema } from "../../shared/src/contracts/catalog";
import { ListQuerySchema } from "../../shared/src/contracts/common";
import { decodeCursor as decodePair, encodeCursor as encodePair } from "../../shared/src/cursor";

/**
 * The product list is newest first, paged by a keyset cursor: the (createdAt, id) of the last item
 * served. Unlike an offset, it neither skips nor repeats items when products are added between
 * pages. Clients treat it as opaque (base64url of a JSON pair).
 */
export interface ListPosition {
  createdAt: string;
  id: string;
}

const PositionSchema = z.tuple([z.iso.datetime(), ProductIdSchema]);

export function encodeCursor(position: ListPosition): string {
  return encodePair(position.createdAt, position.id);
}

export function decodeCursor(cursor: string): ListPosition | undefined {
  const parsed = PositionSchema.safeParse(decodePair(cursor));
  return parsed.success ? { createdAt: parsed.data[0], id: parsed.data[1] } : undefined;
}

const CursorSchema = z
  .string()
  .max(200)
  .transform((cursor, ctx) => {
    if (cursor === "") return undefined; // `?cursor=` is the first page, as no cursor is
    const position = decodeCursor(cursor);
    if (!position) ctx.addIssue({ code: "custom", message: "Not a cursor from this list." });
    return position ?? z.NEVER;
  });

/** `?limit` (clamped to 1..100) and `?cursor`, decoded; a cursor we did not issue is a 400. */
export const ProductListQuerySchema = ListQuerySchema.extend({ cursor: CursorSchema.optional() });
export type ProductListQuery = z.infer<typeof ProductListQuerySchema>;
