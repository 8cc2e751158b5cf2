import { createGateway } from "./app";

export { RateLimiter } from "../../../durable-objects/rate-limiter/rate-limiter";

const app = createGateway();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
