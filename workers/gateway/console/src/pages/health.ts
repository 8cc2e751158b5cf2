import { badge, h, table, time } from "../dom";
import type { Page } from "../page";
import { isObject, list, ms, num, obj, optStr, str } from "../read";
import { BREAKER_HEADERS, breakerRows } from "./breakers";

export const healthPage: Page = {
  path: "health",
  title: "Health",
  async render({ api, body }) {
    const [publicHealth, detail] = await Promise.all([api.get("/health"), api.get("/api/admin/health")]);
    const overall = str(obj(publicHealth.data).status, "unknown");
    body.append(
      h(
        "p",
        { class: "lead" },
        "System status: ",
        badge(overall, overall === "ok" ? "ok" : "bad"),
        ` (GET /health answered ${publicHealth.status || "nothing"})`,
      ),
    );
    if (!detail.ok) {
      body.append(h("p", { role: "alert" }, `Detailed health unavailable: ${detail.message}`));
      return;
    }
    const data = obj(detail.data);
    const services = Object.entries(obj(data.services)).map(([name, check]) => {
      const c = obj(check);
      const status = str(c.status, "unknown");
      return [name, badge(status, status === "ok" ? "ok" : "bad"), ms(num(c.latencyMs)), optStr(c.error) ?? "—"];
    });
    body.append(
      h("p", {}, "Checked ", time(str(data.checkedAt))),
      table("Services", ["Service", "Status", "Latency", "Error"], services),
      h("h3", {}, "Circuit breakers"),
      data.breakers === null
        ? h("p", {}, "Breakers unavailable.")
        : table("Circuit breakers", BREAKER_HEADERS, breakerRows(list(data.breakers).filter(isObject))),
    );
  },
};
