import { app } from "./routes";

export { PspLedger } from "./ledger";

/** shop-psp-sim: a local stand-in for an external payment provider (see routes.ts for its API). */
export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
