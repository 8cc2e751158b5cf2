import { barChart, seriesChart } from "../chart";
import { h, table } from "../dom";
import type { Page } from "../page";
import { fmt, isObject, list, ms, num, obj, oneOf, pct, str } from "../read";
import { BREAKER_HEADERS, breakerRows } from "./breakers";

const WINDOWS = ["15m", "1h", "24h"] as const;

export const metricsPage: Page = {
  path: "metrics",
  title: "Metrics",
  async render({ api, body, params, go }) {
    const window = oneOf(params.get("window"), WINDOWS, "15m");
    body.append(
      h(
        "div",
        { role: "group", "aria-label": "Window", class: "toolbar" },
        ...WINDOWS.map((w) =>
          h(
            "button",
            { type: "button", "aria-pressed": String(w === window), onclick: () => go(`#/metrics?window=${w}`) },
            w,
          ),
        ),
      ),
    );
    const answer = await api.get(`/api/admin/metrics?window=${window}`);
    if (!answer.ok) {
      body.append(h("p", { role: "alert" }, `Metrics unavailable: ${answer.message}`));
      return;
    }
    const report = obj(answer.data);
    const requests = obj(report.requests);
    const sagas = obj(report.sagas);
    const stat = (label: string, value: string) => h("div", { class: "stat" }, h("dt", {}, label), h("dd", {}, value));
    body.append(
      h(
        "dl",
        { class: "stats" },
        stat("Requests", fmt(num(requests.count))),
        stat("Rate", `${fmt(num(requests.rate), 2)}/s`),
        stat("Error rate", pct(num(requests.errorRate))),
        stat("p50", ms(num(requests.p50))),
        stat("p95", ms(num(requests.p95))),
        stat("p99", ms(num(requests.p99))),
        stat("Dead letters waiting", fmt(num(report.deadLetters))),
        stat("Source", str(report.source, "?")),
      ),
    );
    const series = list(requests.series).filter(isObject);
    body.append(
      seriesChart(
        "Requests and 5xx errors over time",
        series.map((point) => ({ at: str(point.at), value: num(point.count), secondary: num(point.errors) })),
        ["requests", "5xx errors"],
      ),
      seriesChart(
        "p95 latency over time (ms)",
        series.map((point) => ({ at: str(point.at), value: num(point.p95) })),
        ["p95 latency"],
      ),
    );
    const routes = list(requests.byRoute).filter(isObject);
    const name = (route: Record<string, unknown>) => `${str(route.method).toUpperCase()} ${str(route.route)}`;
    body.append(
      h("h3", {}, "Latency by route"),
      barChart(
        "p95 latency per route (ms)",
        routes.map((route) => ({ label: name(route), value: num(route.p95), tone: "info" as const })),
        " ms",
      ),
      table(
        "Requests by route",
        ["Route", "Requests", "Error rate", "p50", "p95", "p99"],
        routes.map((route) => [
          name(route),
          fmt(num(route.count)),
          pct(num(route.errorRate)),
          ms(num(route.p50)),
          ms(num(route.p95)),
          ms(num(route.p99)),
        ]),
      ),
      h("h3", {}, "Saga outcomes"),
      barChart("Saga outcomes", [
        { label: "completed", value: num(sagas.completed), tone: "ok" },
        { label: "cancelled", value: num(sagas.cancelled), tone: "warn" },
        { label: "compensation failed", value: num(sagas.compensationFailed), tone: "bad" },
      ]),
      h("p", {}, `Saga p95 duration: ${ms(num(sagas.p95DurationMs))}`),
      h("h3", {}, "Breakers in this window"),
      table(
        "Breakers",
        [...BREAKER_HEADERS, "Transitions"],
        list(report.breakers)
          .filter(isObject)
          .map((breaker) => [
            ...(breakerRows([breaker])[0] ?? []),
            list(breaker.transitions)
              .filter(isObject)
              .map((t) => `${str(t.from)}→${str(t.to)}`)
              .join(", ") || "none",
          ]),
      ),
    );
  },
};
