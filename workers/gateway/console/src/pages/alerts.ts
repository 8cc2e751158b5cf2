import { badge, h, table, time } from "../dom";
import type { Page } from "../page";
import { items, oneOf, optStr, str } from "../read";

export const alertsPage: Page = {
  path: "alerts",
  title: "Alerts",
  async render({ api, body, every }) {
    const holder = h("div", {});
    body.append(holder);
    const refresh = async () => {
      const answer = await api.get("/api/admin/alerts");
      if (answer.status === 404) {
        holder.replaceChildren(
          h(
            "p",
            { role: "status", class: "empty" },
            "Alerts are not available on this deployment (GET /api/admin/alerts answered 404).",
          ),
        );
        return;
      }
      if (!answer.ok) {
        holder.replaceChildren(h("p", { role: "alert" }, `Alerts unavailable: ${answer.message}`));
        return;
      }
      // Firing first, as the API promises; sorted again here so the page never depends on it.
      const alerts = items(answer.data)
        .map((alert) => ({
          state: oneOf(alert.state, ["firing", "resolved"] as const, "resolved"),
          rule: str(alert.rule, "?"),
          summary: str(alert.summary),
          since: str(alert.since),
          resolvedAt: optStr(alert.resolvedAt),
          lastNotifiedAt: optStr(alert.lastNotifiedAt),
        }))
        .sort((a, b) => Number(b.state === "firing") - Number(a.state === "firing"));
      const firing = alerts.filter((alert) => alert.state === "firing").length;
      holder.replaceChildren(
        h("p", { class: "lead" }, firing ? `${firing} alert(s) firing.` : "No alert is firing."),
        table(
          "Alerts, firing first",
          ["State", "Rule", "Summary", "Since", "Resolved", "Last notified"],
          alerts.map((alert) => [
            badge(alert.state, alert.state === "firing" ? "bad" : "ok"),
            alert.rule,
            alert.summary,
            time(alert.since),
            time(alert.resolvedAt),
            time(alert.lastNotifiedAt),
          ]),
        ),
      );
    };
    await refresh();
    every(10_000, refresh);
  },
};
