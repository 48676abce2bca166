// The storyreel web app: a hash router over four views (new brief, runs, one run, policy).

import { completeSignIn, enabled, signedIn, signIn, signOut } from "./auth.js";
import { loadConfig } from "./config.js";
import { fill, h } from "./dom.js";
import { newBriefView } from "./new.js";
import { policyView } from "./policy.js";
import { runView } from "./run.js";
import { runsView } from "./runs.js";

const main = document.getElementById("main");
const alertBox = document.getElementById("alert");
const alertText = document.getElementById("alert-text");
let current = null;
let config = null;

const app = {
  /** Show the API's (or our own) one line, where everyone sees and hears it. */
  error(message) {
    alertText.textContent = message; // as the API (or the app) wrote it: a file name or id keeps its case
    alertBox.hidden = false;
  },
  clearError() {
    alertBox.hidden = true;
    alertText.textContent = "";
  },
};
document.getElementById("alert-close").addEventListener("click", () => app.clearError());

const ROUTES = [
  [/^#\/?(new)?$/, "new", () => newBriefView(main, app)],
  [/^#\/runs\/?$/, "runs", () => runsView(main, app)],
  [/^#\/runs\/([A-Za-z0-9_.-]+)$/, "runs", (m) => runView(main, app, m[1])],
  [/^#\/policy\/?$/, "policy", () => policyView(main, app)],
];

function route() {
  current?.dispose?.();
  current = null;
  app.clearError();
  const hash = location.hash || "#/new";
  for (const [pattern, nav, view] of ROUTES) {
    const m = pattern.exec(hash);
    if (!m) continue;
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (enabled(config) && !signedIn()) {
      showSignIn();
      return;
    }
    document.title = "storyreel";
    current = view(m);
    main.querySelector("h1")?.focus({ preventScroll: true });
    return;
  }
  fill(main, h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/new" }, "Start a new brief"), "."));
}

function showSignIn() {
  const button = h("button", { type: "button", class: "primary", id: "sign-in" }, "Sign in");
  button.addEventListener("click", () => signIn(config).catch((exc) => app.error(exc.message)));
  fill(main, h("h1", { tabindex: "-1" }, "Sign in"), h("p", {}, "Sign in to record briefs and see your runs."), button);
}

function account() {
  const box = document.getElementById("account");
  if (!enabled(config) || !signedIn()) {
    fill(box);
    return;
  }
  const out = h("button", { type: "button", class: "link", id: "sign-out" }, "Sign out");
  out.addEventListener("click", () => signOut(config));
  fill(box, out);
}

async function start() {
  try {
    config = await loadConfig();
    await completeSignIn(config);
  } catch (exc) {
    config = config || { api_url: "", auth: "none" };
    app.error(exc.message);
  }
  account();
  window.addEventListener("hashchange", route);
  route();
}

start();
