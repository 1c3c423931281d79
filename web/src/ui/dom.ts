// A few DOM helpers: no framework, no inline styles or scripts (the relay's CSP forbids them).

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = String(value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let idCounter = 0;
export function uid(prefix: string): string {
  return `${prefix}-${++idCounter}`;
}

/** A labelled field with an optional hint and an error slot tied to it by aria-describedby. */
export function field(opts: {
  label: string;
  hint?: string;
  control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
}): { wrap: HTMLElement; error: (text: string | null) => void } {
  const id = opts.control.id || uid("f");
  opts.control.id = id;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const hint = opts.hint ? h("p", { class: "hint", id: hintId }, opts.hint) : null;
  const err = h("p", { class: "error", id: errorId, hidden: true });
  const describe = () => {
    const ids = [hint ? hintId : "", err.hidden ? "" : errorId].filter(Boolean).join(" ");
    if (ids) opts.control.setAttribute("aria-describedby", ids);
    else opts.control.removeAttribute("aria-describedby");
  };
  describe();
  const wrap = h("div", { class: "field" }, h("label", { for: id }, opts.label), hint, opts.control, err);
  return {
    wrap,
    error(text) {
      err.hidden = !text;
      err.textContent = text ?? "";
      if (text) opts.control.setAttribute("aria-invalid", "true");
      else opts.control.removeAttribute("aria-invalid");
      describe();
    },
  };
}
