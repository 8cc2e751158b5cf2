// Values the payments test config hands to tests through Vitest's provide/inject.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** BREAKER_FAILURE_THRESHOLD given to shop-resilience in this project. */
    breakerFailureThreshold: number;
    /** PSP_TIMEOUT_MS given to shop-payments in this project. */
    pspTimeoutMs: number;
  }
}
