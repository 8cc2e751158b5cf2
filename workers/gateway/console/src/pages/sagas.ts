import { badge, field, h, select, table, time } from "../dom";
import type { Page, PageContext } from "../page";
import { isObject, items, type Json, list, num, optStr, str } from "../read";

const SAGA_STATES = ["running", "compensating", "completed", "cancelled", "compensation_failed"];
const tone = (state: string) =>
  state === "completed"
    ? "ok"
    : state === "compensation_failed" || state === "failed"
      ? "bad"
      : state === "cancelled"
        ? "warn"
        : "info";

export const sagasPage: Page = {
  path: "sagas",
  title: "Sagas",
  async render(ctx) {
    const { api, body, params, go } = ctx;
    const orderId = params.get("order");
    if (orderId) return renderTimeline(ctx, orderId);
    const state = params.get("state") ?? "";
    const stateSelect = select(
      "state",
      [["", "any state"], ...SAGA_STATES.map((s): [string, string] => [s, s])],
      state,
    );
    body.append(
      h(
        "form",
        {
          class: "filters",
          onsubmit: (event) => {
            event.preventDefault();
            go(`#/sagas${stateSelect.value ? `?state=${encodeURIComponent(stateSelect.value)}` : ""}`);
          },
        },
        field("Saga state", stateSelect),
        h("button", { type: "submit" }, "Filter"),
      ),
    );
    const answer = await api.get(`/api/admin/sagas${state ? `?state=${encodeURIComponent(state)}` : ""}`);
    if (!answer.ok) {
      body.append(h("p", { role: "alert" }, `Sagas unavailable: ${answer.message}`));
      return;
    }
    body.append(
      table(
        state ? `Sagas in state ${state}` : "Sagas",
        ["Order", "Saga state", "Order status", "Updated"],
        items(answer.data).map((saga) => {
          const id = str(saga.orderId);
          const sagaState = str(saga.state, "?");
          return [
            h("a", { href: `#/sagas?order=${encodeURIComponent(id)}` }, id),
            badge(sagaState, tone(sagaState)),
            str(saga.status, "?"),
            time(str(saga.updatedAt)),
          ];
        }),
      ),
    );
  },
};

async function renderTimeline(ctx: PageContext, orderId: string): Promise<void> {
  const { api, body, announce, every } = ctx;
  const holder = h("div", {});
  body.append(
    h(
      "p",
      {},
      h("a", { href: "#/sagas" }, "← All sagas"),
      " · ",
      h("a", { href: `#/events?subject=${encodeURIComponent(orderId)}` }, "This order's events"),
    ),
    holder,
  );
  let lastState = "";
  // `quiet`: the change is the operator's own (a retry): its answer stays the notice, so it is not
  // replaced at once by "now compensating" (a later change is still announced).
  const refresh = async (quiet = false) => {
    const answer = await api.get(`/api/orders/${encodeURIComponent(orderId)}`);
    if (!answer.ok) {
      holder.replaceChildren(h("p", { role: "alert" }, `Order ${orderId} unavailable: ${answer.message}`));
      return;
    }
    const order = answer.data as Json;
    const saga = isObject(order.saga) ? order.saga : {};
    const state = str(saga.state, "?");
    if (lastState && state !== lastState && !quiet) announce(`Saga of ${orderId} is now ${state}.`);
    lastState = state;
    const retry =
      state === "compensation_failed"
        ? h(
            "button",
            {
              type: "button",
              class: "primary",
              onclick: async (event) => {
                const button = event.currentTarget as HTMLButtonElement;
                button.disabled = true;
                const result = await api.send("POST", `/api/admin/sagas/${encodeURIComponent(orderId)}/retry`, {});
                announce(
                  result.ok
                    ? `Retry accepted: the saga of ${orderId} is compensating again.`
                    : `Retry failed: ${result.message}`,
                  result.ok ? "ok" : "bad",
                );
                await refresh(true);
              },
            },
            "Retry compensation",
          )
        : null;
    holder.replaceChildren(
      h("h3", {}, `Order ${orderId}`),
      h(
        "dl",
        { class: "stats" },
        h(
          "div",
          { class: "stat" },
          h("dt", {}, "Saga state"),
          h("dd", { "data-testid": "saga-state" }, badge(state, tone(state))),
        ),
        h("div", { class: "stat" }, h("dt", {}, "Order status"), h("dd", {}, str(order.status, "?"))),
        h(
          "div",
          { class: "stat" },
          h("dt", {}, "Reason"),
          h("dd", {}, optStr(saga.reason) ?? optStr(order.reason) ?? "—"),
        ),
        h("div", { class: "stat" }, h("dt", {}, "Created"), h("dd", {}, time(str(order.createdAt)))),
      ),
      retry ?? "",
      h(
        "ol",
        { class: "timeline", "aria-label": "Saga steps" },
        ...list(saga.steps)
          .filter(isObject)
          .map((step) => {
            const status = str(step.status, "?");
            const attempts = list(step.history).filter(isObject);
            return h(
              "li",
              {},
              h("h4", {}, `${str(step.name, "?")} `, badge(status, tone(status))),
              h(
                "p",
                { class: "muted" },
                `${num(step.attempts)} attempt(s) · started `,
                time(optStr(step.startedAt)),
                " · ended ",
                time(optStr(step.endedAt)),
              ),
              optStr(step.error) ? h("p", { class: "error" }, optStr(step.error) ?? "") : null,
              attempts.length
                ? table(
                    `Attempts of ${str(step.name)}`,
                    ["#", "Started", "Breaker's answer", "Called", "Outcome", "Error"],
                    attempts.map((a) => [
                      String(num(a.attempt)),
                      time(str(a.startedAt)),
                      a.breaker === null ? "—" : str(a.breaker, "?"),
                      a.called === null ? "—" : a.called ? "yes" : "no (refused)",
                      str(a.outcome, "?"),
                      optStr(a.error) ?? "",
                    ]),
                  )
                : null,
            );
          }),
      ),
    );
  };
  await refresh();
  // A saga that is still moving is followed live; a finished one is not polled.
  every(2000, async () => {
    if (lastState === "running" || lastState === "compensating") await refresh();
  });
}
