import type { TestKeys } from "./node-config";

declare module "vitest" {
  export interface ProvidedContext {
    keys: TestKeys;
  }
}
