import type { AppEnv, RequestVariables } from "#shared/http";

/** The gateway's Hono environment: its bindings and the request variables it sets. */
export type GatewayApp = {
  Bindings: Env;
  Variables: RequestVariables & {
    /** A Bearer token was sent but did not verify. */
    tokenError?: boolean;
  };
};

export type { AppEnv };
