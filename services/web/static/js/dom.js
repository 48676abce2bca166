// Building the page from data: every value goes in as text or an attribute, never as HTML.

/** An element: h("p", {class: "x", onclick: fn}, "text", child). null, undefined and false are left out. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (key === "style") Object.assign(el.style, value); // CSSOM, which a strict style-src allows
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A link only when the URL is http(s); anything else is shown as text. */
export function safeLink(url, text) {
  if (/^https?:\/\//i.test(url || "")) {
    return h("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, text);
  }
  return h("span", {}, text, url ? h("span", { class: "muted" }, ` (${url})`) : null);
}

export function fmt(value, digits = 2) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

let uid = 0;
/** A fresh id for label/for and aria pairs. */
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: label + control (+ hint). */
export function field(label, control, hint) {
  const id = control.id || nextId("field");
  control.id = id;
  const hintEl = hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** Say something to screen readers (the page's aria-live region). */
export function announce(text) {
  const live = document.getElementById("live");
  if (!live) return;
  live.textContent = "";
  // a fresh text node after a tick, so the same sentence twice is read twice
  setTimeout(() => {
    live.textContent = text;
  }, 30);
}
