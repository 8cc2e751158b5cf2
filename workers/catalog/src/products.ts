import * as z from "zod";
import {
  type Product,
  type ProductCreate,
  ProductIdSchema,
  type ProductPatch,
  type ProductQuote,
  type StockLevels,
} from "#shared/contracts/catalog";
import type { Identity } from "#shared/identity";
import { newId } from "#shared/ids";
import { fail, ok, type Result } from "#shared/result";
import { parseResult } from "#shared/validation";
import { encodeCursor, type ProductListQuery } from "./cursor";
import type { CatalogRepository, StoredProduct } from "./repository";

/** The product use cases of shop-catalog. No HTTP here: results are values, mapped to statuses by the routes. */

export interface ProductsDeps {
  repo: CatalogRepository;
  now?: () => string;
}

const nowIso = () => new Date().toISOString();

export function isAdmin(identity: Identity | undefined): boolean {
  return identity?.role === "admin";
}

/** Everyone sees what can be bought; only admins see what is held and sold. */
export function toProduct(stored: StoredProduct, admin: boolean): Product {
  const product: Product = {
    id: stored.id,
    name: stored.name,
    description: stored.description,
    priceCents: stored.priceCents,
    currency: stored.currency,
    available: stored.available,
    createdAt: stored.createdAt,
  };
  return admin ? { ...product, reserved: stored.reserved, sold: stored.sold } : product;
}

export function mayManage(identity: Identity): Result<null> {
  return isAdmin(identity) ? ok(null) : fail("insufficient_scope", "Only an admin can manage the catalog.");
}

export async function listProducts(
  deps: ProductsDeps,
  viewer: Identity | undefined,
  query: ProductListQuery,
): Promise<{ items: Product[]; nextCursor: string | null }> {
  // One more than asked tells whether another page exists.
  const rows = await deps.repo.listProducts(query.limit + 1, query.cursor);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => toProduct(row, isAdmin(viewer))),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
  };
}

export async function getProduct(
  deps: ProductsDeps,
  viewer: Identity | undefined,
  id: string,
): Promise<Result<Product>> {
  const stored = await deps.repo.findProduct(id);
  return stored ? ok(toProduct(stored, isAdmin(viewer))) : fail("not_found", `No product ${id}.`);
}

export async function createProduct(deps: ProductsDeps, input: ProductCreate): Promise<Product> {
  const stored: StoredProduct = {
    id: newId("prd"),
    name: input.name,
    description: input.description ?? "",
    priceCents: input.priceCents,
    currency: input.currency,
    available: input.stock,
    reserved: 0,
    sold: 0,
    stocked: input.stock,
    createdAt: (deps.now ?? nowIso)(),
  };
  await deps.repo.insertProduct(stored);
  return toProduct(stored, true);
}

export async function updateProduct(deps: ProductsDeps, id: string, patch: ProductPatch): Promise<Result<Product>> {
  const updated = await deps.repo.updateProduct(id, patch, (deps.now ?? nowIso)());
  return updated ? ok(toProduct(updated, true)) : fail("not_found", `No product ${id}.`);
}

export async function restock(deps: ProductsDeps, id: string, quantity: number): Promise<Result<Product>> {
  const updated = await deps.repo.restock(id, quantity, (deps.now ?? nowIso)());
  return updated ? ok(toProduct(updated, true)) : fail("not_found", `No product ${id}.`);
}

/** At most what one order can name (one D1 statement binds the list as one JSON value). */
const QuoteInputSchema = z.array(ProductIdSchema).max(100);

/**
 * Prices from the catalog only (the caller's numbers are never trusted): one quote per distinct
 * id, in the order first asked; `not_found` names the first unknown id.
 */
export async function quote(deps: ProductsDeps, productIds: unknown): Promise<Result<ProductQuote[]>> {
  const input = parseResult(QuoteInputSchema, productIds, "product id list");
  if (!input.ok) return input;
  const ids = [...new Set(input.value)];
  const quotes = new Map((await deps.repo.quotes(ids)).map((q) => [q.id, q]));
  const unknown = ids.find((id) => !quotes.has(id));
  if (unknown) return fail("not_found", `No product ${unknown}.`);
  return ok(ids.map((id) => quotes.get(id) as ProductQuote));
}

/** The four stock counters of a product; `null` for an unknown id, `validation_failed` for a malformed one. */
export async function stockLevels(deps: ProductsDeps, productId: unknown): Promise<Result<StockLevels | null>> {
  const id = parseResult(ProductIdSchema, productId, "product id");
  return id.ok ? ok(await deps.repo.stockLevels(id.value)) : id;
}
