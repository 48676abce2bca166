// New brief: record one (with a level meter and a timer) or drop/pick an audio file or a typed brief (text,
// markdown, WebVTT/SRT subtitles, transcript JSON), then start the run.

import { api, upload } from "./api.js";
import { field, fill, h } from "./dom.js";
import { clock, EXTENSIONS, isTyped, Recorder, supported, TYPED, uploadName } from "./recorder.js";

const PROVIDERS = ["sketch", "replicate", "stability", "openai", "diffusers", "batch"];
const REFERENCE_TYPES = ["image/png", "image/jpeg", "image/webp"]; // what POST /runs signs a reference for
const REFERENCE_MAX = 20 * 1024 * 1024;

export function newBriefView(main, app) {
  let chosen = null; // {blob, filename, label}
  let recorder = null;

  const level = h("meter", { min: "0", max: "1", low: "0.2", high: "0.85", optimum: "0.5", value: "0", id: "level" });
  const timer = h("span", { class: "timer", id: "timer", role: "timer", "aria-label": "Recording time" }, "0:00");
  const recordButton = h("button", { type: "button", class: "primary", id: "record" }, "Start recording");
  const recordStatus = h("p", { class: "muted small", id: "record-status" }, supported() ? "" : "This browser cannot record: pick a file instead.");
  if (!supported()) recordButton.disabled = true;

  const fileInput = h("input", {
    type: "file",
    id: "file",
    accept: ["audio/*", ...EXTENSIONS.map((e) => `.${e}`), ...TYPED.map((e) => `.${e}`)].join(","),
    class: "visually-hidden",
  });
  const drop = h(
    "label",
    { class: "drop", for: "file", id: "drop" },
    h("strong", {}, "Drop an audio file or a typed brief here"),
    h("span", {}, " or choose one"),
    h("span", { class: "hint" }, `audio: ${EXTENSIONS.join(", ")}`),
    h("span", { class: "hint" }, `text, notes or a meeting transcript: ${TYPED.join(", ")}`),
  );

  const preview = h("div", { class: "ready", id: "ready", hidden: true });
  const startButton = h("button", { type: "submit", class: "primary", id: "start" }, "Make the storyboard");
  const status = h("p", { class: "muted", id: "start-status", "aria-live": "polite" });

  const preset = h(
    "select",
    { id: "opt-preset" },
    h("option", { value: "" }, "server default"),
    h("option", { value: "preview" }, "preview: prompts only"),
    h("option", { value: "quick" }, "quick: first frames now"),
    h("option", { value: "full" }, "full: every keyframe, forum evidence"),
  );
  const scenes = h("input", { type: "number", id: "opt-scenes", min: "3", max: "10", step: "1", inputmode: "numeric", placeholder: "5" });
  const provider = h(
    "select",
    { id: "opt-provider" },
    h("option", { value: "" }, "server default"),
    PROVIDERS.map((p) => h("option", { value: p }, p)),
  );
  // image_generation.subject_reference; "given" = an image of the subject the user picks here (POST /runs'
  // `reference`: its signed upload goes up before the brief's, which starts the run)
  const subject = h(
    "select",
    { id: "opt-subject" },
    h("option", { value: "" }, "server default"),
    h("option", { value: "off" }, "off: each frame on its own"),
    h("option", { value: "first-frame" }, "the first keyframe conditions the others"),
    h("option", { value: "given" }, "an image of my own conditions every frame"),
  );
  const referenceInput = h("input", { type: "file", id: "opt-reference", accept: REFERENCE_TYPES.join(",") });
  const referenceField = field("Reference image", referenceInput, "PNG, JPEG or WebP, at most 20 MB: the person or product every shot should show.");
  referenceField.hidden = true;
  subject.addEventListener("change", () => {
    referenceField.hidden = subject.value !== "given";
  });

  function choose(blob, filename, label) {
    chosen = { blob, filename, label };
    preview.hidden = false;
    fill(preview, 
      h("p", {}, h("strong", {}, "Ready: "), label),
      isTyped(filename)
        ? h("p", { class: "small muted" }, "A typed brief: read as it is written, not recognised.")
        : h("audio", { controls: true, src: URL.createObjectURL(blob), "aria-label": "Listen to the brief" }),
    );
    startButton.disabled = false;
  }

  recordButton.addEventListener("click", async () => {
    app.clearError();
    if (recorder) {
      recordButton.disabled = true;
      try {
        const take = await recorder.stop();
        choose(take.blob, take.filename, `a recording, ${clock(take.seconds)} (${take.filename})`);
        recordStatus.textContent = "Recorded.";
      } catch (exc) {
        app.error(exc.message);
      } finally {
        recorder = null;
        recordButton.disabled = false;
        recordButton.textContent = "Start recording";
        recordButton.setAttribute("aria-pressed", "false");
      }
      return;
    }
    recorder = new Recorder({
      onLevel: (v) => {
        level.value = v;
      },
      onTick: (s) => {
        timer.textContent = clock(s);
      },
    });
    try {
      await recorder.start();
    } catch (exc) {
      recorder = null;
      app.error(exc.message);
      return;
    }
    timer.textContent = "0:00";
    recordButton.textContent = "Stop recording";
    recordButton.setAttribute("aria-pressed", "true");
    recordStatus.textContent = "Recording…";
  });

  function takeFile(file) {
    app.clearError();
    const name = uploadName(file.name);
    if (name instanceof Error) {
      app.error(name.message);
      return;
    }
    choose(file, name, `${file.name} (${Math.round(file.size / 1024)} KiB)`);
  }
  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) takeFile(fileInput.files[0]);
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) takeFile(file);
  });

  const form = h(
    "form",
    { id: "new-brief", novalidate: true },
    h(
      "section",
      { class: "card", "aria-labelledby": "rec-title" },
      h("h2", { id: "rec-title" }, "Record"),
      h("div", { class: "recorder" }, recordButton, h("label", { for: "level", class: "level" }, "Level ", level), timer),
      recordStatus,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "file-title" },
      h("h2", { id: "file-title" }, "Or use a file"),
      fileInput,
      drop,
    ),
    preview,
    h(
      "details",
      { class: "card options" },
      h("summary", {}, "Options"),
      h(
        "div",
        { class: "grid3" },
        field("Preset", preset),
        field("Scenes", scenes, "3 to 10"),
        field("Image provider", provider),
      ),
      field("Same subject in every shot", subject, "Needs a provider that takes a reference image (diffusers with an IP-Adapter, Replicate's FLUX Kontext); others render each frame on its own."),
      referenceField,
    ),
    h("div", { class: "actions" }, startButton),
    status,
  );
  startButton.disabled = true;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    app.clearError();
    if (!chosen) {
      app.error("record a brief or choose a file first");
      return;
    }
    const body = { filename: chosen.filename };
    if (preset.value) body.preset = preset.value;
    const options = {};
    if (scenes.value) {
      const n = Number(scenes.value);
      if (!Number.isInteger(n) || n < 3 || n > 10) {
        app.error("scenes: a whole number from 3 to 10");
        scenes.focus();
        return;
      }
      options.pipeline = { scenes: n };
    }
    const image = {};
    if (provider.value) image.provider = provider.value;
    let reference = null;
    if (subject.value === "given") {
      reference = referenceInput.files[0] || null;
      const problem = !reference
        ? "pick the reference image (or choose another “Same subject” option)"
        : !REFERENCE_TYPES.includes(reference.type)
          ? `the reference image must be a PNG, JPEG or WebP image (${reference.name} is ${reference.type || "of an unknown type"})`
          : reference.size > REFERENCE_MAX
            ? `the reference image is ${(reference.size / 1e6).toFixed(1)} MB; the most is 20 MB`
            : null;
      if (problem) {
        app.error(problem);
        referenceInput.focus();
        return;
      }
      body.reference = reference.type; // sets subject_reference "given" on the server
    } else if (subject.value) {
      image.subject_reference = subject.value;
    }
    if (Object.keys(image).length) options.image_generation = image;
    if (Object.keys(options).length) body.options = options;
    startButton.disabled = true;
    status.textContent = "Creating the run…";
    try {
      const made = await api.createRun(body);
      if (reference) {
        status.textContent = "Uploading the reference image…";
        await upload(made.reference_upload, reference); // before the brief: the brief's upload starts the run
      }
      status.textContent = isTyped(chosen.filename) ? "Uploading the brief…" : "Uploading the audio…";
      await upload(made.upload, chosen.blob, (seconds) => {
        status.textContent = `The server is busy with other runs: trying again in ${seconds} s…`;
      });
      status.textContent = "Uploaded.";
      location.hash = `#/runs/${made.run_id}`;
    } catch (exc) {
      status.textContent = "";
      startButton.disabled = false;
      app.error(exc.message);
    }
  });

  fill(main, 
    h("h1", { tabindex: "-1" }, "New brief"),
    h("p", { class: "lede" }, "Talk through the video you want to make (or drop in your notes); storyreel turns it into a storyboard."),
    form,
  );
  return {
    dispose() {
      recorder?.release();
    },
  };
}

