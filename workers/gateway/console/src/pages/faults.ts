import { field, h } from "../dom";
import type { Page } from "../page";
import { input } from "./events";

const RATES = ["errorRate", "timeoutRate", "declineRate"] as const;

export const faultsPage: Page = {
  path: "faults",
  title: "Faults",
  async render({ api, body, announce }) {
    const target = input("target", "psp");
    const rates = RATES.map((name) => {
      const control = input(name, "0", "number");
      Object.assign(control, { min: "0", max: "1", step: "0.05" });
      return control;
    });
    const latency = input("latencyMs", "0", "number");
    Object.assign(latency, { min: "0", step: "100" });
    const current = h("pre", { class: "json", "aria-label": "Faults in force" }, "—");
    const put = async (faults: Record<string, unknown>) => {
      const answer = await api.send("PUT", "/api/admin/faults", faults);
      if (answer.ok) current.textContent = JSON.stringify(answer.data, null, 2);
      announce(answer.ok ? "Faults set." : `Faults not set: ${answer.message}`, answer.ok ? "ok" : "bad");
    };
    body.append(
      h(
        "p",
        { class: "lead" },
        "Development only: inject failures into the payment provider (psp, or psp:<endpoint>), the saga's calls (catalog, payments) or the notifications consumer (notifications: error rate only, so messages are retried and end as dead letters). Rates are 0..1.",
      ),
      h(
        "form",
        {
          class: "filters",
          onsubmit: async (event) => {
            event.preventDefault();
            const spec: Record<string, number> = {};
            for (const control of [...rates, latency]) {
              const value = Number(control.value);
              if (Number.isFinite(value) && value > 0) spec[control.name] = value;
            }
            await put({ [target.value.trim() || "psp"]: spec });
          },
        },
        field("Target", target),
        ...rates.map((control) => field(control.name.replace("Rate", " rate"), control)),
        field("Latency (ms)", latency),
        h("button", { type: "submit", class: "primary" }, "Set faults"),
        h("button", { type: "button", onclick: () => put({ [target.value.trim() || "psp"]: {} }) }, "Clear faults"),
      ),
      h("h3", {}, "Now in force"),
      current,
    );
  },
};

/**
 * Fault injection exists only in development. A PUT of an invalid body changes nothing: it answers
 * 400 where the route exists and 404 where it does not.
 */
export async function faultsAvailable(api: Parameters<Page["render"]>[0]["api"]): Promise<boolean> {
  const answer = await api.send("PUT", "/api/admin/faults", []);
  return answer.status !== 404;
}
