import * as z from "zod";
import { ProductIdSchema } from "#shared/contracts/catalog";
import { pagedQuerySchema } from "#shared/contracts/common";
import { decodeCursor as decodePair, encodeCursor as encodePair } from "#shared/cursor";

/**
 * The product list is newest first, paged by a keyset cursor: the (createdAt, id) of the last item
 * served. Unlike an offset, it neither skips nor repeats items when products are added between
 * pages. Clients treat it as opaque (base64url of a JSON pair).
 */
export interface ListPosition {
  createdAt: string;
  id: string;
}

const PositionSchema = z
  .tuple([z.iso.datetime(), ProductIdSchema])
  .transform(([createdAt, id]): ListPosition => ({ createdAt, id }));

export function encodeCursor(position: ListPosition): string {
  return encodePair(position.createdAt, position.id);
}

export function decodeCursor(cursor: string): ListPosition | undefined {
  const parsed = PositionSchema.safeParse(decodePair(cursor));
  return parsed.success ? parsed.data : undefined;
}

/** `?limit` (clamped to 1..100) and `?cursor`, decoded; a cursor we did not issue is a 400. */
export const ProductListQuerySchema = pagedQuerySchema(PositionSchema);
export type ProductListQuery = z.infer<typeof ProductListQuerySchema>;
