import { type OutboxVariables, withOutbox } from "#queues/middleware";
import type { Outbox } from "#queues/outbox";
import { ProductCreateSchema, ProductIdSchema, ProductPatchSchema, RestockSchema } from "#shared/contracts/catalog";
import { requireIdentity, serviceApp } from "#shared/http";
import { unwrap } from "#shared/result";
import { parseOrThrow, readBody } from "#shared/validation";
import { ProductListQuerySchema } from "./cursor";
import * as products from "./products";
import { CatalogRepository } from "./repository";

type CatalogApp = { Bindings: Env; Variables: OutboxVariables };

/** The request's use-case dependencies: its changes stage their events in the request's outbox. */
const deps = (c: { env: Env; var: { outbox: Outbox } }): products.ProductsDeps => ({
  repo: new CatalogRepository(c.env.DB, c.var.outbox),
});

const productIdParam = (id: string) => parseOrThrow(ProductIdSchema, id, "product id");

/** The HTTP app of shop-catalog, reached only by the gateway over the service binding. */
export const app = serviceApp<CatalogApp>("shop-catalog", { use: [withOutbox("shop-catalog")] })
  .get("/api/products", async (c) => {
    const query = parseOrThrow(ProductListQuerySchema, c.req.query(), "query");
    return c.json(await products.listProducts(deps(c), c.var.identity, query));
  })
  .get("/api/products/:id", async (c) => {
    const id = productIdParam(c.req.param("id"));
    return c.json(unwrap(await products.getProduct(deps(c), c.var.identity, id)));
  })
  // Admin routes: 401, then 403, before any input is read (as at the gateway).
  .post("/api/products", async (c) => {
    unwrap(products.mayManage(requireIdentity(c)));
    const input = await readBody(c.req.raw, ProductCreateSchema);
    const product = await products.createProduct(deps(c), input);
    c.get("log").info("product created", { productId: product.id });
    return c.json(product, 201, { location: `/api/products/${product.id}` });
  })
  .patch("/api/products/:id", async (c) => {
    unwrap(products.mayManage(requireIdentity(c)));
    const id = productIdParam(c.req.param("id"));
    const patch = await readBody(c.req.raw, ProductPatchSchema);
    return c.json(unwrap(await products.updateProduct(deps(c), id, patch)));
  })
  .post("/api/products/:id/restock", async (c) => {
    unwrap(products.mayManage(requireIdentity(c)));
    const id = productIdParam(c.req.param("id"));
    const { quantity } = await readBody(c.req.raw, RestockSchema);
    const product = unwrap(await products.restock(deps(c), id, quantity));
    c.get("log").info("product restocked", { productId: id, quantity });
    return c.json(product);
  });
