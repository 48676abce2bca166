// What the optimizer believes (GET /policy): per lever, each arm's posterior mean and its credible range.

import { api } from "./api.js";
import { fill, fmt, h } from "./dom.js";

export function policyView(main, app) {
  const body = h("div", { id: "policy", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading the policy…"));
  fill(main, h("h1", { tabindex: "-1" }, "Policy"), body);
  api
    .policy()
    .then((view) => {
      body.setAttribute("aria-busy", "false");
      const byLever = new Map();
      for (const b of view.beliefs || []) {
        const key = `${b.lever}${b.bucket && b.bucket !== "all" ? ` (${b.bucket})` : ""}`;
        if (!byLever.has(key)) byLever.set(key, []);
        byLever.get(key).push(b);
      }
      const runs = view.runs || {};
      fill(body, 
        h(
          "p",
          { class: "summary-line" },
          `Policy ${view.policy}, version ${view.version}: ${view.updates} updates from `,
          `${runs.predicted ?? 0} predicted rewards and ${runs.engagement ?? 0} real engagements.`,
        ),
        byLever.size
          ? [...byLever.entries()].map(([lever, arms]) => leverCard(lever, arms))
          : h("p", { class: "muted" }, "No beliefs yet: the optimizer learns from each run and from feedback."),
        view.text ? h("details", { class: "card" }, h("summary", {}, "As `storyreel policy` prints it"), h("pre", { class: "scroll-x", tabindex: "0" }, view.text)) : null,
      );
    })
    .catch((exc) => {
      body.setAttribute("aria-busy", "false");
      fill(body);
      app.error(exc.message);
    });
  return {};
}

function leverCard(lever, arms) {
  const best = Math.max(...arms.map((a) => a.mean));
  return h(
    "section",
    { class: "card lever", "aria-label": `Lever ${lever}` },
    h("h2", {}, lever),
    h(
      "ul",
      { class: "arms" },
      arms
        .slice()
        .sort((a, b) => b.mean - a.mean)
        .map((a) =>
          h(
            "li",
            { class: a.mean === best ? "arm best" : "arm" },
            h("span", { class: "arm-name" }, a.arm),
            h(
              "span",
              {
                class: "bar",
                role: "img",
                "aria-label": `mean ${fmt(a.mean)}, range ${fmt(a.low)} to ${fmt(a.high)}`,
              },
              h("span", { class: "range", style: { left: `${pct(a.low)}%`, width: `${pct(a.high - a.low)}%` } }),
              h("span", { class: "mean", style: { left: `${pct(a.mean)}%` } }),
            ),
            h("span", { class: "arm-numbers" }, `${fmt(a.mean)} · ${a.pulls} pulls`),
          ),
        ),
    ),
  );
}

function pct(x) {
  return Math.max(0, Math.min(100, Number(x) * 100)).toFixed(1);
}
