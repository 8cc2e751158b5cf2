import { createGateway } from "./app";

export { RateLimiter } from "#do/rate-limiter/rate-limiter";

const app = createGateway();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
