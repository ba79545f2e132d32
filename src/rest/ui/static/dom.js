/**
 * Builds elements from text only (textContent, never innerHTML): a symbol, an error message or a market
 * maker's name from the service cannot become markup.
 * @param {string} tag
 * @param {Record<string, unknown>} [props] class, data-*, on<event>, other attributes
 * @param {...(Node | string | number | null | undefined | false | (Node | string)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(typeof child === "object" ? child : String(child));
  }
  return el;
}

/**
 * A definition list of label → value rows; a value may carry a data-field name for tests and scripts.
 * @param {[string, string | number | Node, string?][]} rows
 */
export function facts(rows) {
  return h("dl", { class: "facts" }, rows.map(([label, value, field]) => [h("dt", {}, label), h("dd", { "data-field": field }, value)]).flat());
}

/** @param {string} title @param {...(Node | string | null | undefined | false)} body */
export function card(title, ...body) {
  return h("section", { class: "card" }, h("h2", {}, title), ...body);
}
