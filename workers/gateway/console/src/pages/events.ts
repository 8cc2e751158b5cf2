import { field, h, table, time } from "../dom";
import type { Page } from "../page";
import { items, num, obj, str } from "../read";

/** `datetime-local` values are local times; the API wants ISO 8601. */
export const toIso = (local: string): string => (local ? new Date(local).toISOString() : "");
export const input = (name: string, value: string, type = "text") => h("input", { name, value, type });

export const eventsPage: Page = {
  path: "events",
  title: "Events",
  async render({ api, body, params, go }) {
    const type = input("type", params.get("type") ?? "");
    type.placeholder = "order.confirmed";
    const subject = input("subject", params.get("subject") ?? "");
    subject.placeholder = "ord_…";
    const from = input("from", "", "datetime-local");
    const to = input("to", "", "datetime-local");
    body.append(
      h(
        "form",
        {
          class: "filters",
          onsubmit: (event) => {
            event.preventDefault();
            const query = new URLSearchParams();
            if (type.value.trim()) query.set("type", type.value.trim());
            if (subject.value.trim()) query.set("subject", subject.value.trim());
            if (from.value) query.set("from", toIso(from.value));
            if (to.value) query.set("to", toIso(to.value));
            go(`#/events?${query}`);
          },
        },
        field("Type", type),
        field("Subject (an order, user or product id)", subject),
        field("From", from),
        field("To", to),
        h("button", { type: "submit" }, "Search"),
      ),
    );
    const query = new URLSearchParams();
    for (const key of ["type", "subject", "from", "to"]) {
      const value = params.get(key);
      if (value) query.set(key, value);
    }
    query.set("limit", "100");
    const answer = await api.get(`/api/admin/events?${query}`);
    if (!answer.ok) {
      body.append(h("p", { role: "alert" }, `Events unavailable: ${answer.message}`));
      return;
    }
    let events = items(answer.data);
    const story = params.get("subject");
    // One subject's events read best as a story: oldest first, in its sequence.
    if (story) events = [...events].sort((a, b) => num(a.sequence) - num(b.sequence));
    body.append(
      table(
        story ? `The story of ${story}, oldest first` : "Events, newest first",
        ["Occurred", "Type", "Subject", "Seq", "Source", "Trace", "Data"],
        events.map((event) => [
          time(str(event.occurredAt)),
          str(event.type, "?"),
          h("a", { href: `#/events?subject=${encodeURIComponent(str(event.subject))}` }, str(event.subject)),
          String(num(event.sequence)),
          str(event.source),
          h("code", {}, str(event.traceparent).split("-")[1] ?? "—"),
          h("code", { class: "json" }, JSON.stringify(obj(event.data))),
        ]),
      ),
    );
  },
};
