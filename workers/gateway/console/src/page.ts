import type { Api } from "./api";

/** What a page gets: the API, its query (from the location hash), and a way to be kept fresh. */
export interface PageContext {
  api: Api;
  params: URLSearchParams;
  /** Where the page renders (its heading is already there). */
  body: HTMLElement;
  /** Announces a message to screen readers and shows it (the console's one live region). */
  announce(message: string, tone?: "ok" | "bad"): void;
  /** Runs `tick` every `ms` while this page is shown. */
  every(ms: number, tick: () => Promise<void>): void;
  /** Goes to another page, e.g. `#/events?subject=ord_...`. */
  go(hash: string): void;
}

export interface Page {
  path: string;
  title: string;
  render(ctx: PageContext): Promise<void>;
}
