import { field, h, select, table, time } from "../dom";
import type { Page } from "../page";
import { items, num, obj, optStr, str } from "../read";

export const deadLettersPage: Page = {
  path: "dead-letters",
  title: "Dead letters",
  async render({ api, body, params, go, announce }) {
    const state = params.get("state") ?? "waiting";
    const stateSelect = select(
      "state",
      [
        ["waiting", "waiting"],
        ["redriven", "redriven"],
        ["", "all"],
      ],
      state,
    );
    const redrive = async (ids?: string[]) => {
      const answer = await api.send("POST", "/api/admin/dead-letters/redrive", ids ? { ids } : {});
      const redriven = num(obj(answer.data).redriven);
      announce(
        answer.ok ? `Redriven: ${redriven} dead letter(s).` : `Redrive failed: ${answer.message}`,
        answer.ok ? "ok" : "bad",
      );
      go(`#/dead-letters?state=${encodeURIComponent(state)}`);
    };
    body.append(
      h(
        "form",
        {
          class: "filters",
          onsubmit: (event) => {
            event.preventDefault();
            go(`#/dead-letters?state=${encodeURIComponent(stateSelect.value)}`);
          },
        },
        field("State", stateSelect),
        h("button", { type: "submit" }, "Filter"),
      ),
    );
    const answer = await api.get(
      `/api/admin/dead-letters?limit=100${state ? `&state=${encodeURIComponent(state)}` : ""}`,
    );
    if (!answer.ok) {
      body.append(h("p", { role: "alert" }, `Dead letters unavailable: ${answer.message}`));
      return;
    }
    const letters = items(answer.data);
    const waiting = letters.filter((letter) => !optStr(letter.redrivenAt));
    if (waiting.length > 0) {
      body.append(
        h("p", {}, h("button", { type: "button", onclick: () => redrive() }, "Redrive every waiting dead letter")),
      );
    }
    body.append(
      table(
        "Dead letters",
        ["Id", "Queue", "Reason", "Attempts", "Failed", "Redriven", "Message", ""],
        letters.map((letter) => {
          const id = str(letter.id);
          return [
            h("code", {}, id),
            str(letter.queue),
            str(letter.reason),
            String(num(letter.attempts)),
            time(str(letter.failedAt)),
            time(optStr(letter.redrivenAt)),
            h("code", { class: "json" }, truncate(JSON.stringify(letter.body ?? null), 160)),
            optStr(letter.redrivenAt)
              ? ""
              : h("button", { type: "button", "aria-label": `Redrive ${id}`, onclick: () => redrive([id]) }, "Redrive"),
          ];
        }),
      ),
    );
  },
};

const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
