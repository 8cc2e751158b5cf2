import * as z from "zod";
import type { Result } from "../result";
import { type CallContext, CentsSchema, CurrencySchema, ProductIdSchema, pageOf } from "./common";

export { ProductIdSchema };

const ProductNameSchema = z.string().trim().min(1).max(200);
const DescriptionSchema = z.string().trim().max(2000);

export const ProductCreateSchema = z
  .strictObject({
    name: ProductNameSchema,
    description: DescriptionSchema.optional(),
    priceCents: CentsSchema,
    currency: CurrencySchema,
    stock: z.number().int().min(0).max(1_000_000),
  })
  .meta({
    id: "ProductCreate",
    examples: [{ name: "Espresso cup", description: "90 ml, porcelain", priceCents: 1200, currency: "EUR", stock: 40 }],
  });

export const ProductPatchSchema = z
  .strictObject({
    name: ProductNameSchema.optional(),
    description: DescriptionSchema.optional(),
    priceCents: CentsSchema.optional(),
    currency: CurrencySchema.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: "Give at least one field." })
  .meta({ id: "ProductPatch", minProperties: 1, examples: [{ priceCents: 1299 }] });

export const RestockSchema = z
  .strictObject({ quantity: z.number().int().min(1).max(1_000_000) })
  .meta({ id: "Restock", examples: [{ quantity: 10 }] });

export const ProductSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    priceCents: z.number().int(),
    currency: z.string(),
    available: z.number().int(),
    createdAt: z.string(),
    /** Admins only. */
    reserved: z.number().int().optional(),
    /** Admins only. */
    sold: z.number().int().optional(),
  })
  .meta({ id: "Product" });

export const ProductPageSchema = pageOf(ProductSchema).meta({ id: "ProductPage" });

/** One order line as the saga reserves it. */
export const OrderLineSchema = z.strictObject({
  productId: ProductIdSchema,
  quantity: z.number().int().min(1).max(100),
});

export type ProductCreate = z.infer<typeof ProductCreateSchema>;
export type ProductPatch = z.infer<typeof ProductPatchSchema>;
export type Product = z.infer<typeof ProductSchema>;
export type OrderLine = z.infer<typeof OrderLineSchema>;

/** What orders needs to price a line: the catalog is the only source of prices. */
export interface ProductQuote {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
}

/** Stock of one product: `available + reserved + sold = initial + restocked`. */
export interface StockLevels {
  productId: string;
  available: number;
  reserved: number;
  sold: number;
  /** initial stock plus every restock */
  stocked: number;
}

export type ReservationState = "reserved" | "committed" | "released" | "returned";

/**
 * The catalog's RPC surface (`CatalogService` entrypoint). Every stock method is idempotent by
 * order id: calling it again returns the same result and changes nothing more.
 */
export interface CatalogRpc {
  health(): Promise<{ status: "ok"; service: string }>;
  /** Prices for these products; `not_found` names the first unknown id. */
  quote(productIds: string[]): Promise<Result<ProductQuote[]>>;
  /** Reserves every line or none; `out_of_stock` when any line is short. */
  reserve(orderId: string, lines: OrderLine[], context?: CallContext): Promise<Result<{ state: "reserved" }>>;
  /** Reserved -> sold. */
  commit(orderId: string, context?: CallContext): Promise<Result<{ state: "committed" }>>;
  /** Reserved -> available again; a no-op (`none`) for an order that reserved nothing. */
  release(orderId: string, context?: CallContext): Promise<Result<{ state: "released" | "none" }>>;
  /** Sold -> available again (a refunded order). */
  returnToStock(orderId: string, context?: CallContext): Promise<Result<{ state: "returned" }>>;
  /** The four counters; `null` for an unknown product. */
  stock(productId: string): Promise<Result<StockLevels | null>>;
}
