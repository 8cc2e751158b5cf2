/** A tiny HTTP client for the scripts that use a running edge-shop as a person would (smoke, demo). */

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export class ApiClient {
  // Locally wrangler dev passes the client's CF-Connecting-IP through (on Cloudflare the edge sets
  // it): a fresh address per run keeps repeated runs out of each other's anonymous quota.
  readonly clientIp = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  async request(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<ApiResponse> {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", this.clientIp);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    const method = init.method ?? (body ? "POST" : "GET");
    const response = await fetch(`${this.base}${path}`, { ...init, method, headers, body });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
  }

  async login(email: string, password: string): Promise<string> {
    const login = await this.request("/api/auth/login", { json: { email, password } });
    if (login.status !== 200) throw new Error(`login ${email}: ${login.status} ${JSON.stringify(login.body)}`);
    return String(login.body.accessToken);
  }
}
