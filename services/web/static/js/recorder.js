// Recording a brief in the browser: MediaRecorder for the audio, an AnalyserNode for the level meter.

// What the API takes (services/api AUDIO_TYPES), in the order a browser is asked for it.
const TYPES = [
  ["audio/webm;codecs=opus", "webm"],
  ["audio/webm", "webm"],
  ["audio/ogg;codecs=opus", "ogg"],
  ["audio/ogg", "ogg"],
  ["audio/mp4", "m4a"],
];

export const EXTENSIONS = ["m4a", "mp4", "mp3", "wav", "ogg", "opus", "webm", "flac", "aac"];
// Typed briefs and meeting transcripts (services/transcribe/typed.py TYPED_SUFFIXES): read, not recognised.
export const TYPED = ["txt", "md", "markdown", "vtt", "srt", "json"];

/** Whether a file name is a typed brief (by its extension, as the API decides). */
export function isTyped(name) {
  return TYPED.includes(name.slice(name.lastIndexOf(".") + 1).toLowerCase());
}

export function supported() {
  return Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

function pickType() {
  for (const [mime, ext] of TYPES) if (MediaRecorder.isTypeSupported(mime)) return { mime, ext };
  return null;
}

/** A name the API accepts (letters, digits, _ . -; an audio or typed-brief extension), or an Error saying why not. */
export function uploadName(name) {
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  if (!EXTENSIONS.includes(ext) && !TYPED.includes(ext)) {
    return new Error(`${name} is not a kind of brief storyreel takes: audio (${EXTENSIONS.join(", ")}) or text (${TYPED.join(", ")})`);
  }
  let stem = name.slice(0, dot).replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[^A-Za-z0-9_]+/, "");
  stem = (stem || "brief").slice(0, 90);
  return `${stem}.${ext}`; // at least 5 characters: one, the dot, a 3-letter extension
}

export class Recorder {
  /** onLevel(0..1) on every animation frame, onTick(seconds) every 200 ms while recording. */
  constructor({ onLevel, onTick }) {
    this.onLevel = onLevel;
    this.onTick = onTick;
  }

  async start() {
    const type = pickType();
    if (!type) throw new Error("this browser cannot record audio in a format storyreel takes (webm, ogg or mp4)");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (exc) {
      const why = exc.name === "NotAllowedError" ? "the microphone was not allowed" : exc.message;
      throw new Error(`cannot record: ${why}`);
    }
    this.type = type;
    this.chunks = [];
    this.recorder = new MediaRecorder(this.stream, { mimeType: type.mime });
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size) this.chunks.push(event.data);
    });
    this.recorder.start(250);
    this.started = performance.now();
    this.audio = new AudioContext();
    const source = this.audio.createMediaStreamSource(this.stream);
    this.analyser = this.audio.createAnalyser();
    this.analyser.fftSize = 1024;
    source.connect(this.analyser);
    const samples = new Float32Array(this.analyser.fftSize);
    const frame = () => {
      this.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      this.onLevel(Math.min(1, rms * 4)); // speech sits around 0.05-0.2 RMS: scaled so it moves the meter
      this.raf = requestAnimationFrame(frame);
    };
    frame();
    this.timer = setInterval(() => this.onTick(this.seconds()), 200);
  }

  seconds() {
    return this.started ? (performance.now() - this.started) / 1000 : 0;
  }

  /** Stop and hand back the recording: {blob, filename, seconds}. */
  stop() {
    return new Promise((resolve, reject) => {
      if (!this.recorder) {
        reject(new Error("not recording"));
        return;
      }
      const seconds = this.seconds();
      this.recorder.addEventListener(
        "stop",
        () => {
          const blob = new Blob(this.chunks, { type: this.type.mime.split(";")[0] });
          this.release();
          if (!blob.size) reject(new Error("the recording is empty (no audio reached the browser)"));
          else resolve({ blob, filename: `brief.${this.type.ext}`, seconds });
        },
        { once: true },
      );
      this.recorder.stop();
    });
  }

  release() {
    cancelAnimationFrame(this.raf);
    clearInterval(this.timer);
    this.stream?.getTracks().forEach((t) => t.stop());
    this.audio?.close();
    this.recorder = null;
    this.onLevel(0);
  }
}

export function clock(seconds) {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
