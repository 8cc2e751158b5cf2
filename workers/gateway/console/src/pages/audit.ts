import { badge, field, h, select, table, time } from "../dom";
import type { Page } from "../page";
import { bool, items, num, obj, optNum, str } from "../read";
import { input, toIso } from "./events";

const ACTIONS = [
  "user.role.set",
  "product.create",
  "product.update",
  "product.restock",
  "order.cancel",
  "order.ship",
  "faults.set",
  "events.replay",
  "dead_letters.redrive",
  "saga.retry",
  "admin.create",
];

export const auditPage: Page = {
  path: "audit",
  title: "Audit trail",
  async render({ api, body, params, go }) {
    const actor = input("actor", params.get("actor") ?? "");
    actor.placeholder = "usr_…";
    const action = select(
      "action",
      [["", "any action"], ...ACTIONS.map((a): [string, string] => [a, a])],
      params.get("action") ?? "",
    );
    const target = input("target", params.get("target") ?? "");
    const from = input("from", "", "datetime-local");
    const to = input("to", "", "datetime-local");
    const verdict = h("div", { class: "verdict" });
    const verify = async () => {
      verdict.replaceChildren(h("p", {}, "Verifying the chain…"));
      const answer = await api.get("/api/admin/audit/verify");
      const result = obj(answer.data);
      const bad = optNum(result.firstBadSeq);
      verdict.replaceChildren(
        !answer.ok
          ? h("p", { role: "alert" }, `Verification unavailable: ${answer.message}`)
          : bool(result.valid)
            ? h(
                "p",
                { role: "status" },
                badge("chain verified", "ok"),
                ` ${num(result.checked)} entries checked, none altered.`,
              )
            : h(
                "p",
                { role: "alert" },
                badge("chain broken", "bad"),
                ` first bad entry: #${bad ?? "?"} (${num(result.checked)} checked).`,
              ),
      );
    };
    body.append(
      h("div", { class: "toolbar" }, h("button", { type: "button", onclick: verify }, "Verify the chain"), verdict),
      h(
        "form",
        {
          class: "filters",
          onsubmit: (event) => {
            event.preventDefault();
            const query = new URLSearchParams();
            if (actor.value.trim()) query.set("actor", actor.value.trim());
            if (action.value) query.set("action", action.value);
            if (target.value.trim()) query.set("target", target.value.trim());
            if (from.value) query.set("from", toIso(from.value));
            if (to.value) query.set("to", toIso(to.value));
            go(`#/audit?${query}`);
          },
        },
        field("Actor id", actor),
        field("Action", action),
        field("Target", target),
        field("From", from),
        field("To", to),
        h("button", { type: "submit" }, "Filter"),
      ),
    );
    const query = new URLSearchParams();
    for (const key of ["actor", "action", "target", "from", "to"]) {
      const value = params.get(key);
      if (value) query.set(key, value);
    }
    query.set("limit", "100");
    const [answer] = await Promise.all([api.get(`/api/admin/audit?${query}`), verify()]);
    if (!answer.ok) {
      body.append(h("p", { role: "alert" }, `Audit trail unavailable: ${answer.message}`));
      return;
    }
    const json = (value: unknown) => (value === undefined ? "—" : h("code", { class: "json" }, JSON.stringify(value)));
    body.append(
      table(
        "Audit entries, newest first",
        ["#", "At", "Actor", "Action", "Target", "Before", "After", "Request"],
        items(answer.data).map((entry) => {
          const who = obj(entry.actor);
          return [
            String(num(entry.seq)),
            time(str(entry.at)),
            `${str(who.type)} ${str(who.id)}`,
            str(entry.action),
            str(entry.target),
            json(entry.before),
            json(entry.after),
            h("code", {}, str(entry.requestId)),
          ];
        }),
      ),
    );
  },
};
