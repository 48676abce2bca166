// One run: live stage progress, then the storyboard (scenes in order with both keyframes and, where made, the
// scene's clip), and everything that changes it: a frame's prompt and re-render, its versions, scene edits,
// inserting and deleting scenes, reordering (drag, buttons, Alt+Arrow keys), locks, a corrected transcript and
// re-plan, feedback, exports. Details sit behind disclosures.

import { api } from "./api.js";
import { announce, append, field, fill, fmt, h, safeLink, when } from "./dom.js";
import { badge } from "./runs.js";

const STAGES = ["transcribe", "context", "choose", "scenes", "images", "virality", "optimizer", "finalize"];
const PROVIDERS = ["sketch", "replicate", "stability", "openai", "diffusers"];
// POST /runs/{id}/exports formats (services/api ExportRequest): [value, label, checked at first]
const EXPORT_FORMATS = [
  ["pdf", "PDF storyboard", true],
  ["otio", "OpenTimelineIO (.otio)", true],
  ["otioz", "OpenTimelineIO bundle with media (.otioz)", true],
  ["fcpxml", "Final Cut Pro 7 XML", true],
  ["edl", "CMX 3600 EDL", true],
  ["mp4", "Animatic video (MP4, made in the background)", false],
];
const EXPORT_POLL_MS = 1000;
const EXPORT_POLLS = 1200; // 20 minutes of polling a background export before the page stops asking
const POLL_MS = 500;
const IDLE_POLLS = 60; // after the run ends with frames pending: how many quiet polls before giving up
const GPU_POLLS = 900; // a GPU re-render (202): polls every second for at most 15 minutes
const STALE = "Someone else changed this storyboard — reloaded it. Your change was not saved; make it again if you still want it.";

export function runView(main, app, runId) {
  const state = {
    view: null, // the last StoryboardView
    progress: null,
    timer: null,
    disposed: false,
    busy: false,
    quiet: 0,
    renders: "", // the last poll's GPU re-renders (frame id -> job), as JSON: a change reads the board again
    gpuPolls: 0,
    landed: "", // the frame files the last poll saw: a change means frames landed, so the board is read again
    videos: new Map(), // the clip players on the page, kept across a re-render so a playing clip plays on
    openFrame: null, // the frame id the editor shows
    focusAfter: null, // a data-key to focus after the next render
    drafts: {}, // what was typed into an insert form, by its data-key: kept across re-renders until it lands
    exported: null, // the last export's answer (its links stay listed across re-renders)
    exportStatus: "", // what the export's live line says now
    exporting: false, // an export is being made (its button stays disabled across re-renders)
    deleting: null, // the scene the delete confirmation asks about
  };

  const title = h("h1", { tabindex: "-1", id: "run-title" }, "Run ", h("code", {}, runId));
  const meta = h("p", { class: "meta", id: "run-meta" });
  const progressBox = h("section", { id: "progress", "aria-labelledby": "progress-title", class: "progress" });
  const board = h("div", { id: "board" });
  const dialog = h("dialog", { id: "frame-editor", "aria-labelledby": "editor-title" });
  dialog.addEventListener("close", () => {
    const fid = state.openFrame;
    state.openFrame = null;
    if (fid) document.querySelector(`[data-key="frame-${fid}"]`)?.focus();
  });
  const confirm = h("dialog", { id: "confirm-delete", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" });
  confirm.addEventListener("close", () => {
    const n = state.deleting;
    state.deleting = null;
    if (confirm.returnValue === "delete" && n) deleteScene(n);
    else if (n) document.querySelector(`[data-key="delete-${n}"]`)?.focus();
  });
  fill(main, title, meta, progressBox, board, dialog, confirm);

  // ------------------------------------------------------------------ loading and polling
  async function loadBoard() {
    const view = await api.storyboard(runId);
    setView(view);
  }

  function setView(view) {
    state.view = view;
    render();
  }

  function schedule(ms) {
    clearTimeout(state.timer);
    if (!state.disposed) state.timer = setTimeout(poll, ms);
  }

  async function poll() {
    let p;
    try {
      p = await api.progress(runId);
    } catch (exc) {
      app.error(exc.status === 404 ? `no run ${runId} (or not yours)` : `progress: ${exc.message}`);
      if (exc.status !== 404 && exc.status !== 401 && exc.status !== 403) schedule(POLL_MS * 6);
      return;
    }
    if (state.disposed) return;
    state.progress = p;
    renderProgress(p);
    const live = p.status === "queued" || p.status === "running";
    // frame files by name: after an insert, delete or move the names no longer match the positions, so compare
    // with the last poll's (a new file is a frame that landed), not with the board's frame ids
    const landed = Object.keys(p.frames || {}).sort().join(",");
    const newFrames = landed !== state.landed;
    state.landed = landed;
    const renders = JSON.stringify(p.renders || {});
    const rendersMoved = renders !== state.renders;
    state.renders = renders;
    const finalized = p.status === "succeeded" || p.stages?.finalize?.status === "succeeded";
    try {
      if (finalized && (!state.view || newFrames || rendersMoved || state.view.revision !== p.revision)) {
        await loadBoard();
        state.quiet = 0;
      } else if (!state.view) {
        renderLanding(p);
      } else {
        state.quiet += 1;
      }
    } catch (exc) {
      if (exc.status !== 409) app.error(`storyboard: ${exc.message}`); // 409: not written yet
    }
    if (p.status === "failed") {
      renderFailed(p);
      return;
    }
    const pending = state.view ? state.view.storyboard.frames.pending : 0;
    const gpu = Object.values(p.renders || {}).some((job) => job.status === "rendering");
    state.gpuPolls = gpu ? state.gpuPolls + 1 : 0;
    if (live) schedule(POLL_MS);
    else if (gpu && state.gpuPolls < GPU_POLLS) schedule(POLL_MS * 2);
    else if (pending > 0 && state.quiet < IDLE_POLLS) schedule(POLL_MS * 2);
    else if (!state.view) schedule(POLL_MS); // succeeded, storyboard not readable yet
  }

  // ------------------------------------------------------------------ edits
  /** One edit: `call(revision)` answers the new StoryboardView. A 409 (a stale revision, or the run busy
   * elsewhere) reloads the board and says so; `kept` says what the user still has (an insert's typed text). */
  async function change(label, call, kept = "") {
    if (state.busy) {
      announce("Still saving the last change…");
      return null;
    }
    state.busy = true;
    board.setAttribute("aria-busy", "true");
    app.clearError();
    try {
      const view = await call(state.view.revision);
      setView(view);
      return view;
    } catch (exc) {
      if (exc.stale) {
        await loadBoard().catch(() => {});
        app.error(`${STALE}${kept ? ` ${kept}` : ""}`);
      } else {
        app.error(`${label}: ${exc.message}${exc.status === 409 ? " The storyboard was reloaded." : ""}${kept ? ` ${kept}` : ""}`);
        if (exc.status === 409 || exc.body?.revision !== undefined) await loadBoard().catch(() => {});
      }
      return null;
    } finally {
      state.busy = false;
      board.setAttribute("aria-busy", "false");
    }
  }

  async function move(index, to) {
    const scenes = state.view.storyboard.scenes;
    if (to < 1 || to > scenes.length || to === index) return;
    const scene = scenes.find((s) => s.index === index);
    const dir = to < index ? "up" : "down";
    state.focusAfter = to === 1 || to === scenes.length ? `scene-${to}` : `move-${dir}-${to}`;
    const done = await change("Move", (revision) => api.moveScene(runId, index, to, revision));
    if (done) announce(`Scene “${scene.title}” moved to position ${to} of ${scenes.length}.`);
    else state.focusAfter = null;
  }

  async function toggleLock(scene) {
    state.focusAfter = `lock-${scene.index}`;
    const locked = !scene.locked;
    const done = await change("Lock", (revision) => api.editScene(runId, scene.index, { revision, locked }));
    if (done) announce(`Scene ${scene.index} ${locked ? "locked: re-planning keeps it" : "unlocked"}.`);
  }

  async function insertAfter(n, fields) {
    const count = state.view.storyboard.scenes.length;
    const key = `insert-${n}`;
    const done = await change(
      "Insert",
      async (revision) => {
        const view = await api.insertScene(runId, { revision, index: n + 1, ...fields });
        delete state.drafts[key];
        state.focusAfter = `scene-${n + 1}`;
        return view;
      },
      "Your new scene's text is still in its form.",
    );
    if (!done) return;
    const details = board.querySelector(`details[data-key="${key}"]`);
    if (details) details.open = false;
    const added = done.storyboard.scenes.find((s) => s.index === n + 1);
    announce(`Scene inserted at position ${n + 1} of ${count + 1}${added ? `: “${added.title}”` : ""}. Its frames are pending until rendered.`);
  }

  function askDelete(scene) {
    state.deleting = scene.index;
    confirm.returnValue = "";
    const keep = h("button", { type: "submit", value: "keep", class: "secondary", id: "confirm-keep", autofocus: true }, "Keep it");
    const del = h("button", { type: "submit", value: "delete", class: "danger", id: "confirm-yes" }, `Delete scene ${scene.index}`);
    fill(
      confirm,
      h(
        "form",
        { method: "dialog", class: "editor" },
        h("h2", { id: "confirm-title" }, `Delete scene ${scene.index}?`),
        h("p", { id: "confirm-text" }, `“${scene.title}” and its two keyframes leave the storyboard; the scenes after it move up one.`),
        h("div", { class: "actions" }, keep, del),
      ),
    );
    confirm.showModal();
    keep.focus();
  }

  async function deleteScene(n) {
    const scenes = state.view.storyboard.scenes;
    const scene = scenes.find((s) => s.index === n);
    if (!scene) return;
    const done = await change("Delete", async (revision) => {
      const view = await api.deleteScene(runId, n, revision);
      state.focusAfter = `scene-${Math.min(n, scenes.length - 1)}`;
      return view;
    });
    if (done) announce(`Scene ${n} “${scene.title}” deleted; ${done.storyboard.scenes.length} scenes left.`);
  }

  // ------------------------------------------------------------------ rendering: progress
  function renderProgress(p) {
    const stages = p.stages || {};
    const names = [...STAGES.filter((s) => s in stages || p.status !== "succeeded"), ...Object.keys(stages).filter((s) => !STAGES.includes(s))];
    const counts = p.counts || {};
    const done = p.status === "succeeded" || p.status === "failed";
    const list = h(
      "ol",
      { class: "stages" },
      names.map((name) => {
        const st = stages[name];
        const status = st ? st.status : "waiting";
        return h(
          "li",
          { class: `stage stage-${status}`, dataset: { stage: name, status } },
          h("span", { class: "stage-name" }, name),
          h("span", { class: "stage-status" }, status),
          h("span", { class: "stage-seconds" }, st && st.seconds !== null && st.seconds !== undefined ? `${fmt(st.seconds, 1)} s` : ""),
        );
      }),
    );
    const bar = counts.total
      ? h(
          "p",
          { class: "frames-progress" },
          h("label", { for: "frames-bar" }, `Frames: ${counts.rendered} of ${counts.total} rendered`),
          h("progress", { id: "frames-bar", max: String(counts.total), value: String(counts.rendered) }),
        )
      : null;
    fill(meta, badge(p.status), ` updated ${when(p.updated_at)}`);
    const body = [h("h2", { id: "progress-title" }, done ? "Stages" : "Making the storyboard…"), bar, list];
    if (done) {
      fill(progressBox, h("details", { class: "more" }, h("summary", {}, h("h2", { id: "progress-title" }, "Stages")), bar, list));
    } else {
      fill(progressBox, body);
    }
  }

  function renderFailed(p) {
    const err = p.error || {};
    fill(board, 
      h(
        "div",
        { class: "error-box", role: "status" },
        h("strong", {}, `The run failed in stage ${err.stage || "?"}`),
        `: ${err.message || "no reason recorded"}`,
        err.kind === "user" ? h("p", {}, "This is about the input: ", h("a", { href: "#/new" }, "try another brief"), ".") : null,
      ),
    );
  }

  /** Before the storyboard exists: the frames that have landed, grouped by scene. */
  function renderLanding(p) {
    const byScene = new Map();
    for (const [fid, url] of Object.entries(p.frames || {})) {
      const m = /^s(\d+)-(start|end)$/.exec(fid);
      if (!m) continue;
      const n = Number(m[1]);
      if (!byScene.has(n)) byScene.set(n, {});
      byScene.get(n)[m[2]] = url;
    }
    if (!byScene.size) {
      fill(board, h("p", { class: "muted" }, "The storyboard fills in here as its frames land."));
      return;
    }
    fill(board, 
      h(
        "ol",
        { class: "scenes landing", "aria-label": "Frames so far" },
        [...byScene.keys()]
          .sort((a, b) => a - b)
          .map((n) =>
            h(
              "li",
              { class: "scene" },
              h("h3", {}, `Scene ${n}`),
              h(
                "div",
                { class: "frames" },
                ["start", "end"].map((role) =>
                  h(
                    "figure",
                    { class: "frame", dataset: { frame: `s${n}-${role}` } },
                    byScene.get(n)[role]
                      ? h("img", { src: byScene.get(n)[role], alt: `Scene ${n} ${role} keyframe` })
                      : h("div", { class: "slot", role: "img", "aria-label": `Scene ${n} ${role} keyframe: rendering` }, "rendering…"),
                    h("figcaption", {}, role.toUpperCase()),
                  ),
                ),
              ),
            ),
          ),
      ),
    );
  }

  // ------------------------------------------------------------------ rendering: the storyboard
  function render() {
    const view = state.view;
    if (!view) return;
    const sb = view.storyboard;
    const focusKey = state.focusAfter || document.activeElement?.dataset?.key;
    state.focusAfter = null;
    // a disclosure the user opened stays open across the re-render an edit causes
    const opened = new Set([...board.querySelectorAll("details[open]")].map((d) => d.id || d.dataset.key).filter(Boolean));
    state.videos = new Map([...board.querySelectorAll("video[data-key]")].map((v) => [`${v.dataset.key} ${v.getAttribute("src")}`, v]));
    fill(title, sb.title || runId);
    document.title = `${sb.title || runId} · storyreel`;
    const f = sb.frames;
    fill(meta, 
      badge(view.status || sb.status),
      ` ${f.rendered} of ${f.total} frames rendered`,
      f.pending ? `, ${f.pending} pending` : "",
      f.failed ? `, ${f.failed} failed` : "",
      sb.virality && sb.virality.score !== null ? ` · virality ${Math.round(sb.virality.score)}/100` : "",
      ` · revision ${view.revision} · `,
      h("code", {}, runId),
    );
    fill(board);
    append(board, [
      notices(sb),
      scenesSection(sb),
      viralitySection(sb.virality),
      optimizerSection(sb),
      contextSection(sb.context),
      transcriptSection(sb),
      timingsSection(sb.timings),
      feedbackSection(),
      exportsSection(),
    ]);
    for (const d of board.querySelectorAll("details")) if (opened.has(d.id || d.dataset.key)) d.open = true;
    if (state.openFrame) fillEditor(state.openFrame);
    if (focusKey) {
      const el = document.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
      if (el && !el.disabled) el.focus();
      else if (focusKey.startsWith("move-")) document.querySelector(`[data-key="scene-${focusKey.split("-").pop()}"]`)?.focus();
    }
  }

  function notices(sb) {
    const items = [];
    if (sb.transcript?.audio_warning) items.push(h("div", { class: "error-box" }, h("strong", {}, "Audio warning: "), sb.transcript.audio_warning.message));
    if (sb.error) items.push(h("div", { class: "error-box" }, h("strong", {}, `Failed in ${sb.error.stage}: `), sb.error.message));
    const pending = sb.frames.pending + sb.frames.failed;
    if (pending) {
      const button = h("button", { type: "button", class: "secondary", "data-key": "render-pending" }, `Render the ${pending} frame${pending === 1 ? "" : "s"} not rendered`);
      button.addEventListener("click", async () => {
        app.clearError();
        button.disabled = true;
        try {
          await api.renderPending(runId);
          announce("Rendering the remaining frames.");
          state.quiet = 0;
          schedule(POLL_MS);
        } catch (exc) {
          button.disabled = false;
          app.error(`Render: ${exc.message}`);
        }
      });
      items.push(h("div", { class: "notice" }, h("span", {}, `${sb.frames.pending} pending, ${sb.frames.failed} failed. `), button));
    }
    return items.length ? h("div", { class: "notices" }, items) : null;
  }

  function scenesSection(sb) {
    const scenes = [...sb.scenes].sort((a, b) => a.index - b.index);
    const total = scenes.reduce((t, s) => t + s.duration, 0);
    return h(
      "section",
      { id: "scenes", "aria-labelledby": "scenes-title" },
      h("h2", { id: "scenes-title" }, "Scenes ", h("span", { class: "muted small" }, `${scenes.length} scenes, ${Math.round(total * 10) / 10} s`)),
      sb.hook ? h("p", { class: "hook" }, "Opening line: ", h("strong", {}, sb.hook)) : null,
      h("p", { class: "hint", id: "reorder-hint" }, "Reorder: drag a scene by its handle, use its arrow buttons, or press Alt+↑ / Alt+↓ on a scene."),
      h("ol", { class: "scenes", id: "scene-list" }, scenes.map((s) => sceneCard(s, scenes.length))),
    );
  }

  function sceneCard(scene, count) {
    const n = scene.index;
    const li = h("li", {
      class: `scene${scene.locked ? " locked" : ""}`,
      id: `scene-${n}`,
      tabindex: "0",
      "data-key": `scene-${n}`,
      "aria-labelledby": `scene-${n}-title`,
      "aria-describedby": "reorder-hint",
      "aria-keyshortcuts": "Alt+ArrowUp Alt+ArrowDown",
      dataset: { index: String(n) },
    });
    li.addEventListener("keydown", (event) => {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      event.preventDefault();
      move(n, event.key === "ArrowUp" ? n - 1 : n + 1);
    });
    li.addEventListener("dragover", (event) => {
      if (!event.dataTransfer.types.includes("application/x-storyreel-scene")) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      li.classList.add("drop-target");
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-target"));
    li.addEventListener("drop", (event) => {
      const from = Number(event.dataTransfer.getData("application/x-storyreel-scene"));
      li.classList.remove("drop-target");
      if (!from) return;
      event.preventDefault();
      move(from, n);
    });

    const handle = h("span", { class: "handle", draggable: "true", title: "Drag to reorder", "aria-hidden": "true" }, "⠿");
    handle.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("application/x-storyreel-scene", String(n));
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setDragImage(li, 20, 20);
      li.classList.add("dragging");
    });
    handle.addEventListener("dragend", () => li.classList.remove("dragging"));

    const up = h("button", { type: "button", class: "icon", "data-key": `move-up-${n}`, "aria-label": `Move scene ${n} up`, disabled: n === 1 }, "↑");
    const down = h("button", { type: "button", class: "icon", "data-key": `move-down-${n}`, "aria-label": `Move scene ${n} down`, disabled: n === count }, "↓");
    up.addEventListener("click", () => move(n, n - 1));
    down.addEventListener("click", () => move(n, n + 1));
    const lock = h(
      "button",
      { type: "button", class: "toggle", "data-key": `lock-${n}`, "aria-pressed": scene.locked ? "true" : "false", "aria-label": `Lock scene ${n}` },
      scene.locked ? "Locked" : "Lock",
    );
    lock.addEventListener("click", () => toggleLock(scene));
    const del = h(
      "button",
      { type: "button", class: "danger-outline", "data-key": `delete-${n}`, "aria-label": `Delete scene ${n}`, "aria-haspopup": "dialog", disabled: count === 1, title: count === 1 ? "The only scene cannot be deleted" : null },
      "Delete",
    );
    del.addEventListener("click", () => askDelete(scene));
    const clip = clipFigure(scene);

    append(li, [
      h(
        "div",
        { class: "scene-head" },
        handle,
        h("h3", { id: `scene-${n}-title` }, `${n}. ${scene.title}`, scene.locked ? h("span", { class: "badge" }, "locked") : null),
        h("div", { class: "scene-tools" }, up, down, lock, del),
      ),
      h("div", { class: clip ? "frames with-clip" : "frames" }, frameFigure(scene, "start"), frameFigure(scene, "end"), clip),
      h(
        "p",
        { class: "facts" },
        h("span", {}, h("strong", {}, `${scene.duration} s`)),
        h("span", {}, `camera: ${scene.camera || "—"}`),
        h("span", {}, `transition: ${scene.transition}`),
      ),
      h("p", { class: "description" }, scene.description),
      scene.narration ? h("blockquote", {}, scene.narration) : null,
      sceneForm(scene),
      insertForm(scene),
    ]);
    return li;
  }

  /** The scene's motion clip (services/clips) where one was asked for: a player when it is made, else why not.
   * Its URL is the StoryboardView's `clips[<scene index>]`; an API that does not link clips says so. */
  function clipFigure(scene) {
    const clip = scene.clip;
    if (!clip) return null;
    const n = scene.index;
    const about = [clip.seconds ? `${clip.seconds} s` : null, clip.model || clip.provider, clip.resolution].filter(Boolean).join(" · ");
    if (clip.status === "failed") {
      return h("figure", { class: "clip clip-failed", dataset: { clip: String(n), status: "failed" } }, h("div", { class: "slot slot-failed" }, h("strong", {}, "Clip failed"), h("span", { class: "small" }, clip.reason || "no reason recorded")), h("figcaption", {}, `CLIP · failed${about ? ` · ${about}` : ""}`));
    }
    if (clip.status !== "done") {
      return h("figure", { class: "clip", dataset: { clip: String(n), status: clip.status } }, h("div", { class: "slot" }, h("strong", {}, "Clip pending"), h("span", { class: "small" }, "not generated yet")), h("figcaption", {}, `CLIP · ${clip.status}${about ? ` · ${about}` : ""}`));
    }
    const url = state.view.clips?.[String(n)];
    if (!url) {
      return h("figure", { class: "clip", dataset: { clip: String(n), status: "unlinked" } }, h("div", { class: "slot" }, h("strong", {}, "Clip made"), h("span", { class: "small" }, "this API gives no link to it yet")), h("figcaption", {}, `CLIP · done${about ? ` · ${about}` : ""}`));
    }
    const kept = state.videos.get(`clip-${n} ${url}`);
    const video = kept || h("video", {
      controls: true,
      muted: true,
      playsinline: true,
      preload: "metadata",
      src: url,
      poster: state.view.images?.[`s${n}-start`]?.url || null,
      "aria-label": `Scene ${n} clip${about ? `, ${about}` : ""}`,
      "data-key": `clip-${n}`,
    });
    if (!kept) video.muted = true; // the attribute sets only the default; a created element needs the property too
    else if (state.view.images?.[`s${n}-start`]?.url) video.poster = state.view.images[`s${n}-start`].url;
    return h("figure", { class: "clip", dataset: { clip: String(n), status: "done" } }, video, h("figcaption", {}, `CLIP${about ? ` · ${about}` : ""}`));
  }

  function insertForm(scene) {
    const n = scene.index;
    const key = `insert-${n}`;
    const draft = state.drafts[key] || {};
    const inputs = {
      description: h("textarea", { rows: "3", maxlength: "4000", required: true, "data-field": "description" }, draft.description || ""),
      start_prompt: h("textarea", { rows: "2", maxlength: "4000", "data-field": "start_prompt" }, draft.start_prompt || ""),
      end_prompt: h("textarea", { rows: "2", maxlength: "4000", "data-field": "end_prompt" }, draft.end_prompt || ""),
    };
    for (const [name, input] of Object.entries(inputs)) {
      input.addEventListener("input", () => {
        state.drafts[key] = { ...state.drafts[key], [name]: input.value };
      });
    }
    const add = h("button", { type: "submit", class: "primary", "data-key": `insert-save-${n}` }, "Insert scene");
    const form = h(
      "form",
      { class: "insert-form", novalidate: true },
      field("What happens in the new scene", inputs.description, "Its keyframe prompts come from it unless you write them below."),
      h("div", { class: "grid2" }, field("Start frame prompt (optional)", inputs.start_prompt), field("End frame prompt (optional)", inputs.end_prompt)),
      h("div", { class: "actions" }, add),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const fields = {};
      for (const [name, input] of Object.entries(inputs)) if (input.value.trim()) fields[name] = input.value.trim();
      if (!fields.description) {
        app.error("the new scene needs a description: what happens in it");
        inputs.description.focus();
        return;
      }
      insertAfter(n, fields);
    });
    return h("details", { class: "insert-scene", "data-key": key }, h("summary", {}, `Add a scene after scene ${n}`), form);
  }

  function frameFigure(scene, role) {
    const fid = `s${scene.index}-${role}`;
    const frame = scene[`${role}_frame`];
    const image = state.view.images?.[fid];
    const url = image?.url;
    const label = `Edit scene ${scene.index} ${role} frame`;
    const visual = url
      ? h("img", { src: url, alt: `Scene ${scene.index} ${role} keyframe: ${frame.prompt.slice(0, 140)}`, dataset: { version: String(frame.version ?? 1) } })
      : h("span", { class: `slot slot-${frame.status}`, dataset: { status: frame.status } }, h("strong", {}, frame.status), frame.error ? h("span", { class: "small" }, frame.error) : null);
    const open = h("button", { type: "button", class: "frame-button", "data-key": `frame-${fid}`, "aria-label": label, "aria-haspopup": "dialog" }, visual);
    open.addEventListener("click", () => openEditor(fid));
    const bits = [role.toUpperCase(), frame.status];
    if (frame.placeholder && frame.status === "rendered") bits.push("sketch placeholder");
    if (frame.provider) bits.push(frame.model ? `${frame.provider} / ${frame.model}` : frame.provider);
    if (frame.seed !== null && frame.seed !== undefined) bits.push(`seed ${frame.seed}`);
    if (frame.versions?.length) bits.push(`version ${frame.version} of ${frame.versions.length}`);
    const job = gpuJob(fid);
    return h(
      "figure",
      { class: `frame frame-${role}`, dataset: { frame: fid, render: job?.status } },
      open,
      h(
        "figcaption",
        {},
        h("span", { class: "frame-facts" }, bits.join(" · ")),
        job ? h("span", { class: job.status === "failed" ? "error-text render-job" : "render-job" }, jobLine(job)) : null,
        h("span", { class: "prompt" }, frame.prompt),
      ),
    );
  }

  /** The GPU re-render (a 202 regenerate) that covers frame `fid`, from the board's `renders`, or null. */
  function gpuJob(fid) {
    const renders = state.view?.renders || {};
    return renders[fid] || Object.values(renders).find((job) => job.frames?.includes(fid)) || null;
  }

  function jobLine(job) {
    return job.status === "failed" ? `The GPU re-render failed: ${job.error || "no reason recorded"}` : "Rendering on the GPU…";
  }

  function sceneForm(scene) {
    const n = scene.index;
    const inputs = {
      title: h("input", { type: "text", value: scene.title, maxlength: "200" }),
      description: h("textarea", { rows: "3", maxlength: "4000" }, scene.description),
      duration_s: h("input", { type: "number", value: String(scene.duration), min: "0", max: "600", step: "0.5", inputmode: "decimal" }),
      camera: h("input", { type: "text", value: scene.camera || "" }),
      transition: h("input", { type: "text", value: scene.transition || "" }),
      negative_prompt: h("textarea", { rows: "2" }, scene.start_frame.negative_prompt || ""),
    };
    const save = h("button", { type: "submit", class: "primary", "data-key": `save-${n}` }, "Save scene");
    const form = h(
      "form",
      { class: "scene-form", novalidate: true },
      field("Title", inputs.title),
      field("Description", inputs.description),
      h("div", { class: "grid3" }, field("Duration (s)", inputs.duration_s), field("Camera", inputs.camera), field("Transition", inputs.transition)),
      field("Negative prompt (both frames)", inputs.negative_prompt),
      h("div", { class: "actions" }, save),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      const was = {
        title: scene.title,
        description: scene.description,
        duration_s: String(scene.duration),
        camera: scene.camera || "",
        transition: scene.transition || "",
        negative_prompt: scene.start_frame.negative_prompt || "",
      };
      for (const [key, input] of Object.entries(inputs)) {
        if (input.value !== was[key]) body[key] = key === "duration_s" ? Number(input.value) : input.value;
      }
      if (!Object.keys(body).length) {
        announce("Nothing changed.");
        return;
      }
      if ("duration_s" in body && !(body.duration_s >= 0 && body.duration_s <= 600)) {
        app.error("duration: a number of seconds from 0 to 600");
        inputs.duration_s.focus();
        return;
      }
      state.focusAfter = `save-${n}`;
      const done = await change("Save scene", (revision) => api.editScene(runId, n, { revision, ...body }));
      if (done) announce(`Scene ${n} saved.`);
    });
    return h("details", { class: "edit-scene", "data-key": `edit-${n}` }, h("summary", {}, `Edit scene ${n}`), form);
  }

  // ------------------------------------------------------------------ the frame editor (a modal dialog)
  function openEditor(fid) {
    state.openFrame = fid;
    fillEditor(fid);
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("textarea")?.focus();
  }

  function findFrame(fid) {
    const m = /^s(\d+)-(start|end)$/.exec(fid);
    const scene = state.view.storyboard.scenes.find((s) => s.index === Number(m[1]));
    return scene ? { scene, role: m[2], frame: scene[`${m[2]}_frame`] } : null;
  }

  function fillEditor(fid) {
    const found = findFrame(fid);
    if (!found) {
      dialog.close();
      return;
    }
    const { scene, role, frame } = found;
    const image = state.view.images?.[fid] || {};
    const keep = dialog.querySelector("textarea");
    const typed = keep && dialog.dataset.fid === fid && keep.dataset.dirty === "1" ? keep.value : null;
    dialog.dataset.fid = fid;
    const prompt = h("textarea", { rows: "5", id: "editor-prompt", maxlength: "4000" }, typed ?? frame.prompt);
    if (typed !== null) prompt.dataset.dirty = "1";
    prompt.addEventListener("input", () => {
      prompt.dataset.dirty = "1";
    });
    const seed = h("input", { type: "number", id: "editor-seed", min: "0", step: "1", inputmode: "numeric", placeholder: "a new seed" });
    const provider = h(
      "select",
      { id: "editor-provider" },
      h("option", { value: "" }, `the run's (${frame.provider || "default"})`),
      PROVIDERS.map((p) => h("option", { value: p }, p)),
    );
    const withEnd = role === "start" ? h("input", { type: "checkbox", id: "editor-with-end" }) : null;
    const job = gpuJob(fid);
    const status = h("p", { class: "muted", id: "editor-status", "aria-live": "polite" }, job ? jobLine(job) : "");
    const rerender = h("button", { type: "submit", class: "primary", id: "editor-render", disabled: job?.status === "rendering" }, "Re-render");
    const close = h("button", { type: "button", class: "secondary", id: "editor-close" }, "Close");
    close.addEventListener("click", () => dialog.close());

    const form = h(
      "form",
      { class: "editor-form", novalidate: true },
      field("Prompt", prompt),
      h("div", { class: "grid3" }, field("Seed", seed, "empty: a new one"), field("Image provider", provider)),
      withEnd ? h("div", { class: "check" }, withEnd, h("label", { for: "editor-with-end" }, "Also re-derive the end frame from the new start")) : null,
      h("div", { class: "actions" }, rerender, close),
      status,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      if (prompt.value.trim() !== frame.prompt) body.prompt = prompt.value.trim();
      if (seed.value !== "") {
        const s = Number(seed.value);
        if (!Number.isInteger(s) || s < 0) {
          app.error("seed: a whole number, 0 or more");
          seed.focus();
          return;
        }
        body.seed = s;
      }
      if (provider.value) body.image_provider = provider.value;
      if (withEnd?.checked) body.with_end = true;
      rerender.disabled = true;
      status.textContent = "Rendering…";
      dialog.setAttribute("aria-busy", "true");
      let queued = false;
      const done = await change("Re-render", async (revision) => {
        const answer = await api.regenerate(runId, fid, { revision, ...body });
        if (answer.status !== "rendering") return answer;
        queued = true; // a 202 (diffusers/batch in the cloud): a GPU job renders it; the board's `renders` says how it goes
        return api.storyboard(runId);
      });
      dialog.setAttribute("aria-busy", "false");
      if (done && queued) {
        announce(`Scene ${scene.index} ${role} frame is rendering on the GPU; the new version appears when it is done.`);
        dialog.querySelector("#editor-status").textContent = "Rendering on the GPU: the new version appears here when it is done.";
        state.gpuPolls = 0;
        schedule(POLL_MS);
      } else if (done) {
        const now = findFrame(fid)?.frame;
        announce(`New version ${now?.version ?? ""} of scene ${scene.index} ${role} frame rendered.`);
        dialog.querySelector("#editor-status").textContent = `Rendered version ${now?.version ?? "?"}.`;
        dialog.querySelector("#editor-render")?.focus();
      } else if (dialog.open) {
        dialog.querySelector("#editor-status").textContent = "Not rendered.";
        const button = dialog.querySelector("#editor-render");
        if (button) button.disabled = false;
      }
    });

    const versions = (frame.versions || []).slice().sort((a, b) => b.version - a.version);
    const versionList = versions.length
      ? h(
          "ol",
          { class: "versions", id: "versions", "aria-label": "Versions, newest first" },
          versions.map((v) => {
            const current = v.version === frame.version;
            const url = image.versions?.[String(v.version)];
            const use = h(
              "button",
              { type: "button", class: "secondary", "data-version": String(v.version), disabled: current || !url, "aria-label": `Use version ${v.version}` },
              current ? "Current" : "Use this version",
            );
            use.addEventListener("click", async () => {
              const done = await change("Switch version", (revision) => api.useVersion(runId, fid, v.version, revision));
              if (done) {
                announce(`Version ${v.version} is current again.`);
                dialog.querySelector(`[data-version="${v.version}"]`)?.focus();
              }
            });
            return h(
              "li",
              { class: current ? "version current" : "version", dataset: { version: String(v.version) } },
              url ? h("img", { src: url, alt: `Version ${v.version}`, class: "thumb" }) : h("span", { class: "thumb slot" }, v.status),
              h(
                "div",
                { class: "version-facts" },
                h("strong", {}, `v${v.version}`),
                ` · ${v.status}`,
                v.seed !== null && v.seed !== undefined ? ` · seed ${v.seed}` : "",
                v.provider ? ` · ${v.provider}` : "",
                ` · ${when(v.created_at)}`,
                h("span", { class: "prompt" }, v.prompt),
                use,
              ),
            );
          }),
        )
      : h("p", { class: "muted", id: "versions" }, "One version so far: a re-render keeps this one as version 1.");

    const facts = [frame.status];
    if (frame.provider) facts.push(frame.model ? `${frame.provider} / ${frame.model}` : frame.provider);
    if (frame.seed !== null && frame.seed !== undefined) facts.push(`seed ${frame.seed}`);
    if (frame.versions?.length) facts.push(`version ${frame.version} of ${frame.versions.length}`);
    fill(dialog, 
      h(
        "div",
        { class: "editor" },
        h("h2", { id: "editor-title" }, `Scene ${scene.index}: ${role} frame`),
        image.url ? h("img", { src: image.url, alt: `Current ${role} keyframe of scene ${scene.index}`, id: "editor-image", class: "editor-image" }) : h("div", { class: "slot" }, frame.status),
        h("p", { class: "small", id: "editor-facts" }, facts.join(" · ")),
        form,
        h("h3", {}, "Versions"),
        versionList,
      ),
    );
  }

  // ------------------------------------------------------------------ the rest of the storyboard
  function viralitySection(report) {
    if (!report) {
      return h("section", { id: "virality", "aria-labelledby": "virality-title" }, h("h2", { id: "virality-title" }, "Virality"), h("p", { class: "muted" }, "Not evaluated for this run."));
    }
    return h(
      "section",
      { id: "virality", "aria-labelledby": "virality-title" },
      h("h2", { id: "virality-title" }, "Virality"),
      h(
        "p",
        {},
        h("span", { class: "score" }, report.score === null ? "—" : String(Math.round(report.score))),
        h("span", { class: "muted" }, "/100"),
        ` · confidence ${Math.round(report.confidence * 100)} % · ${report.method}`,
      ),
      h(
        "ul",
        { class: "components" },
        report.components.map((c) =>
          h(
            "li",
            { class: "component", dataset: { component: c.name } },
            h("div", { class: "component-head" }, h("strong", {}, c.name), h("meter", { min: "0", max: "100", value: String(c.score), "aria-label": `${c.name} score` }), ` ${Math.round(c.score)} · weight ${c.weight}`),
            h("p", {}, c.explanation),
            Object.keys(c.numbers || {}).length ? h("p", { class: "small muted" }, Object.entries(c.numbers).map(([k, v]) => `${k} = ${v}`).join(", ")) : null,
            c.evidence?.length
              ? h(
                  "ul",
                  { class: "evidence" },
                  c.evidence.map((ev) => h("li", {}, evidenceLink(ev), h("span", { class: "muted" }, ` (${[ev.source, ev.score !== null && ev.score !== undefined ? `${ev.score} points` : null, ev.comments !== null && ev.comments !== undefined ? `${ev.comments} comments` : null].filter(Boolean).join(", ")})`))),
                )
              : null,
          ),
        ),
      ),
      report.not_evaluated?.length
        ? h("details", {}, h("summary", {}, `Not evaluated (${report.not_evaluated.length})`), h("ul", {}, report.not_evaluated.map((n) => h("li", {}, h("strong", {}, n.component), `: ${n.reason}`))))
        : null,
    );
  }

  function evidenceLink(ev) {
    const cite = /^transcript\.json#t=([0-9.]+),([0-9.]+)$/.exec(ev.url || "");
    if (cite) return h("span", {}, ev.title, h("span", { class: "muted" }, ` (the brief, ${cite[1]}–${cite[2]} s)`));
    return safeLink(ev.url, ev.title);
  }

  function optimizerSection(sb) {
    const d = sb.decision;
    const variant = d ? d.variant : sb.variant || {};
    const why = Object.entries(variant).map(([lever, arm]) => {
      const post = d?.posterior?.[lever]?.[arm];
      const draw = d?.samples?.[lever]?.[arm];
      const explore = d?.exploration_probability?.[lever];
      const parts = [];
      if (post) parts.push(`posterior mean ${fmt(post.mean, 3)} after ${post.pulls} pulls`);
      if (draw !== undefined) parts.push(`this draw ${fmt(draw, 3)}`);
      if (explore !== undefined) parts.push(`exploring with probability ${Math.round(explore * 100)} %`);
      return h("li", {}, `${lever} = `, h("strong", {}, arm), parts.length ? h("span", { class: "muted" }, ` — ${parts.join(", ")}`) : null);
    });
    const rows = [];
    for (const [lever, arms] of Object.entries(d?.posterior || {})) {
      for (const [arm, post] of Object.entries(arms)) {
        rows.push(
          h(
            "tr",
            { class: variant[lever] === arm ? "chosen" : "" },
            h("td", {}, lever),
            h("td", {}, arm, variant[lever] === arm ? " ✔" : ""),
            h("td", { class: "num" }, fmt(post.mean, 3)),
            h("td", { class: "num" }, String(post.pulls)),
            h("td", { class: "num" }, fmt(d.samples?.[lever]?.[arm], 3)),
          ),
        );
      }
    }
    return h(
      "details",
      { class: "more", id: "optimizer" },
      h("summary", {}, h("h2", {}, "The optimizer's choice and why")),
      d ? h("p", {}, `Policy ${d.policy} (Thompson sampling: each lever's arm with the highest draw from its posterior), decided ${when(d.decided_at)}.`) : h("p", { class: "muted" }, "No optimizer decision for this run."),
      why.length ? h("ul", { class: "choice" }, why) : null,
      rows.length
        ? h("div", { class: "scroll-x", role: "region", "aria-label": "Posteriors", tabindex: "0" }, h("table", {}, h("thead", {}, h("tr", {}, ["lever", "arm", "mean", "pulls", "this draw"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)))
        : null,
    );
  }

  function contextSection(ctx) {
    const rows = [
      ["Subject", ctx.subject],
      ["Intent", ctx.intent],
      ["Vibe", ctx.vibe],
      ["Content style", ctx.content_style],
      ["Target audience", ctx.target_audience],
      ["Platform", ctx.platform || "not said"],
      ["Target length", ctx.target_duration_s ? `${ctx.target_duration_s} s` : "not said"],
      ["Colour palette", (ctx.color_palette || []).join(", ")],
      ["Visual elements", (ctx.visual_elements || []).join(", ")],
      ["Sound", (ctx.sound_preferences || []).join(", ")],
      ["Keywords", (ctx.keywords || []).join(", ")],
      ["Tone", `${ctx.tone} (sentiment ${Number(ctx.sentiment).toFixed(2)})`],
      ["Not in the brief (defaulted)", (ctx.missing || []).join(", ") || "nothing"],
    ];
    return h(
      "details",
      { class: "more", id: "context" },
      h("summary", {}, h("h2", {}, "Creative context")),
      h("dl", { class: "pairs" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "—")])),
    );
  }

  function transcriptSection(sb) {
    const t = sb.transcript;
    const text = h("textarea", { id: "transcript-text", rows: "8" }, t.text);
    const replan = h("button", { type: "submit", class: "primary", "data-key": "replan" }, "Re-plan from this transcript");
    const form = h(
      "form",
      { class: "replan", novalidate: true },
      field("Transcript", text, "Correct what the recogniser misheard; re-planning writes new context and scenes and keeps the locked ones (their frames stay; the new ones are pending)."),
      h("div", { class: "actions" }, replan),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      if (text.value.trim() !== t.text.trim()) body.transcript = text.value;
      state.focusAfter = "replan";
      const done = await change("Re-plan", (revision) => api.replan(runId, { revision, ...body }));
      if (done) announce(`Re-planned: ${done.storyboard.scenes.length} scenes.`);
    });
    return h(
      "details",
      { class: "more", id: "transcript" },
      h("summary", {}, h("h2", {}, "Transcript and re-plan")),
      h("p", { class: "small muted" }, `${t.provider}${t.model ? ` / ${t.model}` : ""} · ${t.language} · ${fmt(t.duration_s, 1)} s of audio`),
      form,
    );
  }

  function timingsSection(timings) {
    const entries = Object.entries(timings || {});
    return h(
      "details",
      { class: "more", id: "timings" },
      h("summary", {}, h("h2", {}, "Stage timings")),
      entries.length
        ? h(
            "div",
            { class: "scroll-x", role: "region", "aria-label": "Stage timings", tabindex: "0" },
            h("table", {}, h("thead", {}, h("tr", {}, ["stage", "status", "seconds", "detail"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, entries.map(([name, st]) => h("tr", {}, h("td", {}, name), h("td", {}, st.status), h("td", { class: "num" }, fmt(st.seconds, 3)), h("td", {}, st.detail || ""))))),
          )
        : h("p", { class: "muted" }, "No stage timings recorded."),
    );
  }

  function feedbackSection() {
    const inputs = Object.fromEntries(
      ["views", "likes", "comments", "shares"].map((k) => [k, h("input", { type: "number", id: `fb-${k}`, name: k, min: "0", step: "1", inputmode: "numeric", required: k === "views" })]),
    );
    const status = h("p", { id: "feedback-status", "aria-live": "polite" });
    const send = h("button", { type: "submit", class: "primary", "data-key": "feedback" }, "Send feedback");
    const form = h(
      "form",
      { id: "feedback-form", novalidate: true },
      h("div", { class: "grid4" }, field("Views", inputs.views), field("Likes", inputs.likes), field("Comments", inputs.comments), field("Shares", inputs.shares)),
      h("div", { class: "actions" }, send),
      status,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      app.clearError();
      const body = {};
      for (const [k, input] of Object.entries(inputs)) {
        if (input.value === "") continue;
        const n = Number(input.value);
        if (!Number.isInteger(n) || n < 0) {
          app.error(`${k}: a whole number, 0 or more`);
          input.focus();
          return;
        }
        body[k] = n;
      }
      if (!("views" in body)) {
        app.error("views: how many times the video was watched (required)");
        inputs.views.focus();
        return;
      }
      send.disabled = true;
      try {
        const answer = await api.feedback(runId, body);
        status.textContent = `Recorded (reward ${fmt(answer.reward, 3)}): the optimizer has learned from it.`;
      } catch (exc) {
        app.error(`Feedback: ${exc.message}`);
      } finally {
        send.disabled = false;
      }
    });
    return h(
      "section",
      { id: "feedback", "aria-labelledby": "feedback-title", class: "card" },
      h("h2", { id: "feedback-title" }, "Feedback"),
      h("p", { class: "small muted" }, "Posted the video? Its real engagement teaches the optimizer more than its predicted score."),
      form,
    );
  }

  function exportsSection() {
    const checks = EXPORT_FORMATS.map(([value, label, on]) => {
      const box = h("input", { type: "checkbox", id: `export-${value}`, name: "format", value, checked: on });
      return h("div", { class: "check" }, box, h("label", { for: box.id }, label));
    });
    const select = (id, options) => h("select", { id }, options.map(([value, label]) => h("option", { value }, label)));
    const fps = select("export-fps", [["24", "24"], ["25", "25"], ["30", "30"]]);
    const aspect = select("export-aspect", [["", "the platform's"], ["9:16", "9:16 (vertical)"], ["16:9", "16:9 (wide)"], ["1:1", "1:1 (square)"]]);
    const captions = select("export-captions", [["srt", "a subtitle file (SRT)"], ["burn", "burned into the video"], ["none", "none"]]);
    const audio = select("export-audio", [["none", "none"], ["brief", "the spoken brief"]]);
    const paper = select("export-paper", [["a4", "A4"], ["letter", "Letter"]]);
    const size = select("export-size", [["1080p", "1080p"], ["720p", "720p"], ["360p", "360p (quick)"]]);
    const status = h("p", { id: "export-status", "aria-live": "polite" }, state.exportStatus);
    const go = h("button", { type: "submit", class: "primary", "data-key": "export", disabled: Boolean(state.exporting) }, "Export");
    const results = h("div", { id: "export-results" });
    // the section is built again on every re-render: updates go to whichever elements are on the page now
    const say = (text) => {
      state.exportStatus = text;
      const el = document.getElementById("export-status");
      if (el) el.textContent = text;
    };
    const show = (answer) => {
      const names = Object.keys(answer.files || {}).sort();
      fill(
        document.getElementById("export-results") || results,
        names.length
          ? h(
              "ul",
              { class: "export-links", "aria-label": "Exported files" },
              names.map((name) => h("li", { dataset: { file: name } }, safeLink(answer.files[name], name))),
            )
          : h("p", { class: "muted" }, "Nothing was written."),
        answer.expires_in ? h("p", { class: "small muted" }, `The links work for ${Math.round(answer.expires_in / 60)} minutes.`) : null,
        answer.notes?.length ? h("ul", { class: "export-notes small", "aria-label": "Notes" }, answer.notes.map((note) => h("li", {}, note))) : null,
      );
    };
    if (state.exported) show(state.exported);
    const form = h(
      "form",
      { id: "export-form", novalidate: true },
      h("fieldset", { class: "formats" }, h("legend", {}, "Formats"), checks),
      h(
        "details",
        { class: "export-options", id: "export-options" },
        h("summary", {}, "Export options"),
        h("div", { class: "grid3" }, field("Frames per second", fps), field("Aspect", aspect), field("Captions", captions), field("Audio (video)", audio), field("Video size", size), field("Paper (PDF)", paper)),
      ),
      h("div", { class: "actions" }, go),
      status,
      results,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      app.clearError();
      const formats = [...form.querySelectorAll("input[name=format]:checked")].map((box) => box.value);
      if (!formats.length) {
        app.error("export: pick at least one format");
        form.querySelector("input[name=format]")?.focus();
        return;
      }
      const body = { formats, fps: Number(fps.value), captions: captions.value, audio: audio.value, paper: paper.value };
      if (aspect.value) body.aspect = aspect.value;
      if (formats.includes("mp4")) body.size = size.value; // the animatic's only
      const button = () => board.querySelector("[data-key=export]");
      state.exporting = true;
      go.disabled = true;
      say("Exporting…");
      try {
        let answer = await api.exports(runId, body);
        // with mp4 the API answers 202 (queued): GET answer.poll until the export is done or failed
        for (let polls = 0; answer.status === "queued" || answer.status === "running"; polls += 1) {
          if (state.disposed) return;
          if (polls >= EXPORT_POLLS) throw new Error(`the export is still ${answer.status} after ${Math.round((EXPORT_POLLS * EXPORT_POLL_MS) / 60000)} minutes (GET ${answer.poll})`);
          say(`Making the video in the background (${answer.status})…`);
          await new Promise((resolve) => setTimeout(resolve, EXPORT_POLL_MS));
          if (!/^\/runs\/[^?#]+$/.test(answer.poll || "")) throw new Error(`the API gave no path to poll the export (${answer.poll})`);
          answer = await api.exportStatus(answer.poll);
        }
        if (answer.status === "failed") throw new Error(answer.error || "the export failed (no reason recorded)");
        state.exported = answer;
        show(answer);
        const n = Object.keys(answer.files || {}).length;
        say(`Exported ${n} file${n === 1 ? "" : "s"}.`);
      } catch (exc) {
        say("Not exported.");
        app.error(`Export: ${exc.message}`);
      } finally {
        state.exporting = false;
        if (button()) button().disabled = false;
      }
    });
    return h(
      "section",
      { id: "exports", "aria-labelledby": "exports-title", class: "card" },
      h("h2", { id: "exports-title" }, "Export"),
      h("p", { class: "small muted" }, "A PDF storyboard and editor timelines (OpenTimelineIO, FCP7 XML, EDL) for the storyboard as it is now."),
      form,
    );
  }

  poll();
  return {
    dispose() {
      state.disposed = true;
      clearTimeout(state.timer);
      if (dialog.open) dialog.close();
    },
  };
}
