import { h, s } from "./dom";
import { fmt } from "./read";

/**
 * Two hand-written SVG charts. Each is an image with a text alternative (`role="img"` and a
 * title); the numbers behind it are also in a table on the same page for screen readers.
 */

export interface Bar {
  label: string;
  value: number;
  tone?: "ok" | "bad" | "warn" | "info";
}

/** Horizontal bars, one row per label, scaled to the largest value. */
export function barChart(title: string, bars: Bar[], unit = ""): HTMLElement {
  const rowHeight = 24;
  const labelWidth = 220;
  const width = 640;
  const height = Math.max(rowHeight, bars.length * rowHeight) + 8;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title, class: "chart" },
    s("title", {}, title),
    ...bars.map((bar, index) => {
      const y = index * rowHeight + 4;
      const barWidth = Math.max(1, ((width - labelWidth - 90) * bar.value) / max);
      return s(
        "g",
        {},
        s(
          "text",
          { x: labelWidth - 8, y: y + 15, "text-anchor": "end", class: "chart-label" },
          truncate(bar.label, 30),
        ),
        s("rect", { x: labelWidth, y, width: barWidth, height: rowHeight - 8, class: `bar bar-${bar.tone ?? "info"}` }),
        s("text", { x: labelWidth + barWidth + 6, y: y + 15, class: "chart-value" }, `${fmt(bar.value, 2)}${unit}`),
      );
    }),
  );
  return h("figure", {}, h("figcaption", {}, title), svg);
}

export interface Point {
  at: string;
  value: number;
  secondary?: number;
}

/** Columns over time (e.g. requests per bucket), with an optional darker overlay (e.g. errors). */
export function seriesChart(title: string, points: Point[], legend: [string, string?]): HTMLElement {
  const width = 640;
  const height = 160;
  const pad = 28;
  const max = Math.max(1, ...points.map((point) => point.value));
  const step = points.length > 0 ? (width - pad) / points.length : 0;
  const scale = (value: number) => ((height - pad) * value) / max;
  const columns = points.map((point, index) => {
    const x = pad + index * step;
    const w = Math.max(1, step - 2);
    const tall = scale(point.value);
    return s(
      "g",
      {},
      s("rect", { x, y: height - pad - tall, width: w, height: tall, class: "bar bar-info" }),
      point.secondary
        ? s("rect", {
            x,
            y: height - pad - scale(point.secondary),
            width: w,
            height: scale(point.secondary),
            class: "bar bar-bad",
          })
        : null,
    );
  });
  const first = points[0]?.at;
  const last = points.at(-1)?.at;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title, class: "chart" },
    s("title", {}, title),
    s("line", { x1: pad, y1: height - pad, x2: width, y2: height - pad, class: "axis" }),
    s("text", { x: 0, y: 12, class: "chart-value" }, fmt(max)),
    s("text", { x: 0, y: height - pad, class: "chart-value" }, "0"),
    ...columns,
    first ? s("text", { x: pad, y: height - 8, class: "chart-label" }, clock(first)) : null,
    last ? s("text", { x: width, y: height - 8, "text-anchor": "end", class: "chart-label" }, clock(last)) : null,
  );
  return h(
    "figure",
    {},
    h(
      "figcaption",
      {},
      title,
      " ",
      h("span", { class: "legend legend-info" }, legend[0]),
      legend[1] ? h("span", { class: "legend legend-bad" }, legend[1]) : null,
    ),
    points.length === 0 ? h("p", { class: "empty" }, "No data in this window.") : svg,
  );
}

const clock = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
};
const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
