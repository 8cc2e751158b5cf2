import { Api } from "./api";
import { field, h } from "./dom";
import type { Page, PageContext } from "./page";
import { alertsPage } from "./pages/alerts";
import { auditPage } from "./pages/audit";
import { breakersPage } from "./pages/breakers";
import { deadLettersPage } from "./pages/dead-letters";
import { eventsPage } from "./pages/events";
import { faultsAvailable, faultsPage } from "./pages/faults";
import { healthPage } from "./pages/health";
import { metricsPage } from "./pages/metrics";
import { sagasPage } from "./pages/sagas";

/**
 * The operations console: one page, routed by the location hash (`#/sagas?state=...`), so the
 * back button and links work and nothing but this file's bundle runs (script-src 'self').
 */
const PAGES: Page[] = [
  healthPage,
  metricsPage,
  alertsPage,
  breakersPage,
  sagasPage,
  eventsPage,
  deadLettersPage,
  auditPage,
  faultsPage,
];

const api = new Api();
const app = document.getElementById("app") as HTMLElement;
const live = document.getElementById("live") as HTMLElement;
let timers: number[] = [];
let withFaults = false;
let rendering = 0;
let shownPath = "";

function announce(message: string, tone: "ok" | "bad" = "ok"): void {
  live.replaceChildren(h("p", { class: `notice notice-${tone}` }, message));
}

function stopTimers(): void {
  for (const timer of timers) clearInterval(timer);
  timers = [];
}

function signInView(message = ""): void {
  stopTimers();
  const email = h("input", { name: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { role: "alert", class: "error" }, message);
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  app.replaceChildren(
    h(
      "main",
      { id: "main", class: "signin" },
      h("h1", { tabindex: "-1" }, "edge-shop operations"),
      h(
        "form",
        {
          "aria-labelledby": "signin-title",
          onsubmit: async (event) => {
            event.preventDefault();
            submit.disabled = true;
            const answer = await api.signIn(email.value, password.value);
            submit.disabled = false;
            if (!answer.ok) {
              error.textContent = `Sign-in failed: ${answer.message}`;
              password.select();
              return;
            }
            if (api.role !== "admin") {
              api.signOut("This account is not an administrator.");
              return;
            }
            withFaults = await faultsAvailable(api);
            if (!location.hash || location.hash === "#/") location.hash = "#/health";
            else void route();
          },
        },
        h("h2", { id: "signin-title" }, "Sign in as an administrator"),
        field("Email", email),
        field("Password", password),
        submit,
        error,
      ),
    ),
  );
  email.focus();
}

async function route(): Promise<void> {
  if (!api.signedIn) return signInView();
  stopTimers();
  const [path = "health", query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const visible = PAGES.filter((page) => page !== faultsPage || withFaults);
  const page = visible.find((p) => p.path === path) ?? healthPage;
  // A notice belongs to the page that raised it: another page starts without it.
  if (page.path !== shownPath) live.replaceChildren();
  shownPath = page.path;
  const heading = h("h2", { tabindex: "-1", id: "page-title" }, page.title);
  const body = h("div", { class: "page-body", "aria-busy": "true" });
  const nav = h(
    "nav",
    { "aria-label": "Console pages" },
    h(
      "ul",
      {},
      ...visible.map((p) =>
        h("li", {}, h("a", { href: `#/${p.path}`, "aria-current": p === page ? "page" : false }, p.title)),
      ),
    ),
  );
  app.replaceChildren(
    h(
      "header",
      {},
      h("h1", {}, "edge-shop operations"),
      h("button", { type: "button", onclick: () => api.signOut() }, "Sign out"),
    ),
    nav,
    h("main", { id: "main", "aria-labelledby": "page-title" }, heading, body),
  );
  document.title = `${page.title} · edge-shop operations`;
  heading.focus();
  const ticket = ++rendering;
  const ctx: PageContext = {
    api,
    params: new URLSearchParams(query),
    body,
    announce,
    every: (ms, tick) => {
      let busy = false;
      timers.push(
        window.setInterval(async () => {
          if (busy || ticket !== rendering) return;
          busy = true;
          await tick().finally(() => {
            busy = false;
          });
        }, ms),
      );
    },
    go: (hash) => {
      if (location.hash === hash) void route();
      else location.hash = hash;
    },
  };
  try {
    await page.render(ctx);
  } catch (error) {
    body.append(h("p", { role: "alert" }, `This page failed: ${String(error)}`));
  } finally {
    body.removeAttribute("aria-busy");
  }
}

api.onSignedOut = (reason) => signInView(reason);
// The skip link focuses the page instead of changing the hash (the hash is the console's route).
document.querySelector("a.skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  (document.getElementById("page-title") ?? document.querySelector("main h1"))?.focus();
});
window.addEventListener("hashchange", () => void route());
signInView();
