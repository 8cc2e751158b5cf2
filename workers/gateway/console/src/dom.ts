/** A tiny element builder: no framework, no innerHTML, so nothing read from the API is ever parsed as markup. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttrs(element, attrs);
  append(element, children);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function s(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): SVGElement {
  const element = document.createElementNS(SVG, tag);
  setAttrs(element, attrs);
  append(element, children);
  return element;
}

function setAttrs(element: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
}

function append(element: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "number" ? String(child) : child);
  }
}

/** A table with a caption and column headers: what screen readers need to read a row. */
export function table(caption: string, headers: string[], rows: Child[][]): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, `${caption}: none.`);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))))),
    ),
  );
}

/** A labelled form field; the label is tied to the control by id. */
let fieldIds = 0;
export function field(label: string, control: HTMLInputElement | HTMLSelectElement): HTMLElement {
  fieldIds += 1;
  control.id ||= `field-${fieldIds}`;
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

export function select(name: string, options: [string, string][], value = ""): HTMLSelectElement {
  const control = h("select", { name });
  for (const [optionValue, text] of options) {
    control.append(h("option", { value: optionValue, selected: optionValue === value }, text));
  }
  return control;
}

export function badge(text: string, tone: "ok" | "bad" | "warn" | "info" = "info"): HTMLElement {
  return h("span", { class: `badge badge-${tone}` }, text);
}

export function time(iso: string | null | undefined): Child {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, date.toLocaleString());
}
