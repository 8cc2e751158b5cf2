import { isObject, num, obj, str } from "./read";

/** What a call answered: the parsed body when it was JSON, and a readable message when it failed. */
export interface Answer {
  ok: boolean;
  status: number;
  data: unknown;
  /** The problem+json `detail` (or `title`) of a failure, or a network error. */
  message: string;
}

/**
 * The API client. Tokens live in this object only (never localStorage or cookies): closing or
 * reloading the tab signs the operator out. An expired access token is refreshed once, one call at
 * a time, as the README asks of clients.
 */
export class Api {
  #access: string | null = null;
  #refresh: string | null = null;
  #refreshing: Promise<boolean> | null = null;
  onSignedOut: (reason: string) => void = () => {};

  get signedIn(): boolean {
    return this.#access !== null;
  }

  /** The role in the access token's payload (display only; the server decides every access). */
  get role(): string {
    const payload = this.#access?.split(".")[1];
    if (!payload) return "";
    try {
      const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
      return str(obj(JSON.parse(json)).role);
    } catch {
      return "";
    }
  }

  async signIn(email: string, password: string): Promise<Answer> {
    const answer = await this.#call("POST", "/api/auth/login", { email, password }, false);
    if (answer.ok) this.#keep(answer.data);
    return answer;
  }

  signOut(reason = "Signed out."): void {
    const refreshToken = this.#refresh;
    if (refreshToken && this.#access) void this.#call("POST", "/api/auth/logout", { refreshToken }, true);
    this.#access = null;
    this.#refresh = null;
    this.onSignedOut(reason);
  }

  get(path: string): Promise<Answer> {
    return this.#call("GET", path, undefined, true);
  }

  send(method: "POST" | "PUT", path: string, body: unknown): Promise<Answer> {
    return this.#call(method, path, body, true);
  }

  #keep(data: unknown): void {
    const tokens = obj(data);
    this.#access = str(tokens.accessToken) || null;
    this.#refresh = str(tokens.refreshToken) || null;
  }

  async #call(method: string, path: string, body: unknown, auth: boolean, retried = false): Promise<Answer> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (auth && this.#access) headers.authorization = `Bearer ${this.#access}`;
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      return { ok: false, status: 0, data: null, message: `The server did not answer (${String(error)}).` };
    }
    if (response.status === 401 && auth && !retried && (await this.#refreshOnce())) {
      return this.#call(method, path, body, auth, true);
    }
    if (response.status === 401 && auth && this.#access) this.signOut("The session ended: sign in again.");
    const text = await response.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    const problem = isObject(data) ? data : {};
    const message = response.ok
      ? ""
      : str(problem.detail) || str(problem.title) || `${response.status} ${response.statusText}`.trim();
    return { ok: response.ok, status: num(response.status), data, message };
  }

  #refreshOnce(): Promise<boolean> {
    const refreshToken = this.#refresh;
    if (!refreshToken) return Promise.resolve(false);
    this.#refreshing ??= this.#call("POST", "/api/auth/refresh", { refreshToken }, false, true)
      .then((answer) => {
        if (answer.ok) this.#keep(answer.data);
        return answer.ok;
      })
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }
}
