import { badge, h, table, time } from "../dom";
import type { Page } from "../page";
import { items, type Json, num, oneOf, optStr, str } from "../read";

const STATES = ["closed", "open", "half_open", "unknown"] as const;
export const BREAKER_HEADERS = ["Name", "State", "Failures", "Opened", "Last transition"];

export function breakerRows(breakers: Json[]) {
  return breakers.map((breaker) => {
    const state = oneOf(breaker.state, STATES, "unknown");
    const tone = state === "closed" ? "ok" : state === "open" ? "bad" : "warn";
    return [
      str(breaker.name, "?"),
      badge(state.replace("_", "-"), tone),
      String(num(breaker.failures)),
      time(optStr(breaker.openedAt)),
      time(optStr(breaker.lastTransitionAt)),
    ];
  });
}

export const breakersPage: Page = {
  path: "breakers",
  title: "Circuit breakers",
  async render({ api, body, every }) {
    const holder = h("div", {});
    body.append(h("p", { class: "lead" }, "Live: refreshed every 2 seconds."), holder);
    const refresh = async () => {
      const answer = await api.get("/api/admin/breakers");
      const content = answer.ok
        ? table("Circuit breakers", BREAKER_HEADERS, breakerRows(items(answer.data)))
        : h("p", { role: "alert" }, `Breakers unavailable: ${answer.message}`);
      holder.replaceChildren(content, h("p", { class: "muted" }, `Updated ${new Date().toLocaleTimeString()}`));
    };
    await refresh();
    every(2000, refresh);
  },
};
