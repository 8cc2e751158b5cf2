/**
 * The services behind the gateway, by the name `/health` reports them under. Each binding is an
 * RPC entrypoint with a `health()` method. New services are added here and in wrangler.toml.
 */
export const SERVICES = {
  users: (env: Env) => env.USERS,
  catalog: (env: Env) => env.CATALOG,
  resilience: (env: Env) => env.RESILIENCE,
  payments: (env: Env) => env.PAYMENTS,
  orders: (env: Env) => env.ORDERS,
  events: (env: Env) => env.EVENTS,
  notifications: (env: Env) => env.NOTIFICATIONS,
  alerts: (env: Env) => env.ALERTS,
} as const satisfies Record<string, (env: Env) => { health(): Promise<unknown> }>;

export type ServiceName = keyof typeof SERVICES;
