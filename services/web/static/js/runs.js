// The runs list (GET /runs): newest first.

import { api } from "./api.js";
import { fill, h, when } from "./dom.js";

export function badge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}

export function runsView(main, app) {
  const list = h("div", { id: "runs", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading runs…"));
  fill(main, h("h1", { tabindex: "-1" }, "Runs"), list);
  api
    .runs()
    .then(({ runs }) => {
      list.setAttribute("aria-busy", "false");
      if (!runs.length) {
        fill(list, h("p", {}, "No runs yet. ", h("a", { href: "#/new" }, "Record a brief"), "."));
        return;
      }
      fill(list, 
        h(
          "ul",
          { class: "runs" },
          runs.map((r) =>
            h(
              "li",
              { class: "run-item", dataset: { run: r.run_id } },
              h("a", { href: `#/runs/${r.run_id}`, class: "run-title" }, r.title || r.run_id),
              h(
                "span",
                { class: "run-meta" },
                badge(r.status),
                ` ${when(r.created_at)} · ${r.frames.rendered}/${r.frames.total} frames`,
                r.virality_score === null || r.virality_score === undefined ? "" : ` · virality ${Math.round(r.virality_score)}`,
                r.error ? h("span", { class: "error-text" }, ` · ${r.error.stage}: ${r.error.message}`) : null,
              ),
            ),
          ),
        ),
      );
    })
    .catch((exc) => {
      list.setAttribute("aria-busy", "false");
      fill(list);
      app.error(exc.message);
    });
  return {};
}
