/**
 * The typed edge-shop client: openapi-fetch over the types generated from /openapi.json
 * (`schema.d.ts`), with a thin layer for what every caller needs: the access token on each call,
 * one refresh at a time when it expires, an Idempotency-Key per order, retries that honour
 * Retry-After on 429 and 503, and problem+json errors as typed exceptions.
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Order = Schemas["Order"];
export type Product = Schemas["Product"];
export type TokenPair = Schemas["TokenPair"];

/** A problem+json answer, thrown by `unwrap` and the helpers. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly status: number;
  constructor(problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.name = "ProblemError";
    this.problem = problem;
    this.status = problem.status;
  }
}

export interface ShopClientOptions {
  baseUrl: string;
  /** Tokens from an earlier login (a CLI keeps them in a file). */
  tokens?: TokenPair;
  /** Called after every login and refresh, to store the new pair. */
  onTokens?: (tokens: TokenPair | undefined) => void;
  /** Whether a 401 on an ordinary call refreshes the tokens once and retries (default true). */
  refreshOn401?: boolean;
  /** How many times a 429 or 503 is retried (after Retry-After, capped by maxRetryWaitSeconds). */
  maxRetries?: number;
  maxRetryWaitSeconds?: number;
  /** Extra headers on every request (scripts set CF-Connecting-IP locally to get their own quota). */
  headers?: Record<string, string>;
  /**
   * How a request reaches the gateway (default: the global fetch). Tests pass the Worker under
   * test here (e.g. `SELF.fetch` or `exports.default.fetch`), so the client drives it directly.
   */
  fetch?: (request: Request) => Promise<Response>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ShopClient {
  readonly api: Client<paths>;
  private tokens: TokenPair | undefined;
  private refreshing: Promise<boolean> | undefined;
  private readonly options: Required<Omit<ShopClientOptions, "tokens" | "onTokens" | "headers">> &
    Pick<ShopClientOptions, "onTokens" | "headers">;

  constructor(options: ShopClientOptions) {
    this.tokens = options.tokens;
    this.options = {
      baseUrl: options.baseUrl.replace(/\/$/, ""),
      refreshOn401: options.refreshOn401 ?? true,
      maxRetries: options.maxRetries ?? 3,
      maxRetryWaitSeconds: options.maxRetryWaitSeconds ?? 30,
      fetch: options.fetch ?? ((request) => globalThis.fetch(request)),
      onTokens: options.onTokens,
      headers: options.headers,
    };
    this.api = createClient<paths>({ baseUrl: this.options.baseUrl, fetch: (request) => this.send(request) });
  }

  get session(): TokenPair | undefined {
    return this.tokens;
  }

  /** Every request: the token, a refresh on a 401 with invalid_token, retries on 429/503. */
  private async send(request: Request): Promise<Response> {
    for (let attempt = 0, refreshed = false; ; attempt++) {
      const sent = request.clone();
      for (const [name, value] of Object.entries(this.options.headers ?? {})) sent.headers.set(name, value);
      if (this.tokens && !sent.headers.has("authorization")) {
        sent.headers.set("authorization", `Bearer ${this.tokens.accessToken}`);
      }
      const response = await this.options.fetch(sent);
      // On any call but the auth calls themselves, a 401 means the access token: refresh once, then retry.
      if (response.status === 401 && this.options.refreshOn401 && this.tokens && !refreshed && !isAuthCall(request)) {
        refreshed = true;
        if (await this.refresh()) {
          attempt--;
          continue;
        }
      }
      if ((response.status === 429 || response.status === 503) && attempt < this.options.maxRetries) {
        const wait = Number(response.headers.get("retry-after") ?? "1");
        if (Number.isFinite(wait) && wait <= this.options.maxRetryWaitSeconds) {
          await response.body?.cancel();
          await sleep(Math.max(wait, 0.2) * 1000);
          continue;
        }
      }
      return response;
    }
  }

  /** One refresh at a time: concurrent refreshes of one token would end the session (README). */
  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      const refreshToken = this.tokens?.refreshToken;
      if (!refreshToken) return false;
      const response = await this.options.fetch(
        new Request(`${this.options.baseUrl}/api/auth/refresh`, {
          method: "POST",
          headers: { "content-type": "application/json", ...this.options.headers },
          body: JSON.stringify({ refreshToken }),
        }),
      );
      if (!response.ok) {
        this.setTokens(undefined);
        return false;
      }
      this.setTokens((await response.json()) as TokenPair);
      return true;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private setTokens(tokens: TokenPair | undefined): void {
    this.tokens = tokens;
    this.options.onTokens?.(tokens);
  }

  async login(email: string, password: string): Promise<TokenPair> {
    const tokens = unwrap(await this.api.POST("/api/auth/login", { body: { email, password } }));
    this.setTokens(tokens);
    return tokens;
  }

  async logout(): Promise<void> {
    if (!this.tokens) return;
    unwrap(await this.api.POST("/api/auth/logout", { body: { refreshToken: this.tokens.refreshToken } }));
    this.setTokens(undefined);
  }

  /**
   * Places an order with a fresh Idempotency-Key (or the one given, to retry the same order):
   * `accepted` is true for a 202 (its saga still running: follow it with `order`).
   */
  async placeOrder(
    items: Schemas["PlaceOrder"]["items"],
    idempotencyKey: string = crypto.randomUUID(),
  ): Promise<{ order: Order; accepted: boolean; replayed: boolean; key: string }> {
    const result = await this.api.POST("/api/orders", {
      params: { header: { "idempotency-key": idempotencyKey } },
      body: { items },
    });
    const order = unwrap(result);
    return {
      order,
      accepted: result.response.status === 202,
      replayed: result.response.headers.get("idempotent-replayed") === "true",
      key: idempotencyKey,
    };
  }

  async order(id: string): Promise<Order> {
    return unwrap(await this.api.GET("/api/orders/{id}", { params: { path: { id } } }));
  }

  /**
   * Polls an order until its saga comes to rest (or `timeoutMs` passes), calling `onChange`
   * whenever a step changes: the way to follow a saga live.
   */
  async followOrder(
    id: string,
    onChange: (order: Order) => void = () => {},
    options: { intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<Order> {
    const deadline = Date.now() + (options.timeoutMs ?? 180_000);
    let last = "";
    for (;;) {
      const order = await this.order(id);
      const seen = JSON.stringify([order.status, order.saga?.state, order.saga?.steps]);
      if (seen !== last) onChange(order);
      last = seen;
      const state = order.saga?.state;
      if (state && state !== "running" && state !== "compensating") return order;
      if (Date.now() > deadline) return order;
      await sleep(options.intervalMs ?? 500);
    }
  }
}

const isAuthCall = (request: Request) => new URL(request.url).pathname.startsWith("/api/auth/");

/** The data of a successful call, or a ProblemError with the server's problem document. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  const error = result.error as Partial<Problem> | undefined;
  if (error && typeof error === "object" && typeof error.code === "string") throw new ProblemError(error as Problem);
  throw new ProblemError({
    type: "about:blank",
    title: result.response.statusText,
    status: result.response.status,
    detail: typeof error === "string" ? error : `HTTP ${result.response.status}`,
    instance: "",
    code: "unexpected",
  });
}
