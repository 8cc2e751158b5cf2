import * as z from "zod";
import {
  ProductCreateSchema,
  ProductIdSchema,
  ProductPageSchema,
  ProductPatchSchema,
  ProductSchema,
  RestockSchema,
} from "#shared/contracts/catalog";
import { ListQuerySchema } from "#shared/contracts/common";
import { LOCATION } from "./responses";
import type { ProxyRoute } from "./table";

const catalog = (env: Env) => env.CATALOG;
const ProductParams = z.object({ id: ProductIdSchema });

/** Public routes served by shop-catalog. Admins also see `reserved` and `sold`. */
export const CATALOG_ROUTES: ProxyRoute[] = [
  {
    method: "get",
    path: "/api/products",
    operationId: "listProducts",
    summary: "List products, newest first",
    tag: "catalog",
    access: "public",
    service: catalog,
    query: ListQuerySchema,
    success: { status: 200, description: "A page of products", schema: ProductPageSchema },
  },
  {
    method: "get",
    path: "/api/products/{id}",
    operationId: "getProduct",
    summary: "One product",
    tag: "catalog",
    access: "public",
    service: catalog,
    params: ProductParams,
    success: { status: 200, description: "The product", schema: ProductSchema },
    errors: [404],
  },
  {
    method: "post",
    path: "/api/products",
    operationId: "createProduct",
    summary: "Create a product",
    tag: "catalog",
    access: "admin",
    service: catalog,
    body: ProductCreateSchema,
    success: { status: 201, description: "The new product", schema: ProductSchema, headers: { Location: LOCATION } },
  },
  {
    method: "patch",
    path: "/api/products/{id}",
    operationId: "updateProduct",
    summary: "Change a product's name, description or price",
    tag: "catalog",
    access: "admin",
    service: catalog,
    params: ProductParams,
    body: ProductPatchSchema,
    success: { status: 200, description: "The updated product", schema: ProductSchema },
    errors: [404],
  },
  {
    method: "post",
    path: "/api/products/{id}/restock",
    operationId: "restockProduct",
    summary: "Add stock",
    tag: "catalog",
    access: "admin",
    service: catalog,
    params: ProductParams,
    body: RestockSchema,
    success: { status: 200, description: "The product with its new stock", schema: ProductSchema },
    errors: [404],
  },
];
