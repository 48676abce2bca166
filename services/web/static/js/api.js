// The storyreel API (docs/api.md): JSON in and out; every failure is an ApiError with the API's one line.

import { authHeader } from "./auth.js";
import { loadConfig } from "./config.js";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body || {};
  }

  /** A 409 about the revision: someone else's edit landed first. */
  get stale() {
    return this.status === 409 && Number.isInteger(this.body.revision);
  }
}

async function url(path) {
  const config = await loadConfig();
  return `${config.api_url}${path}`;
}

export async function request(method, path, body) {
  const config = await loadConfig();
  const headers = { Accept: "application/json", ...(await authHeader(config)) };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(await url(path), init);
  } catch (exc) {
    throw new ApiError(0, `cannot reach the API (${exc.message})`);
  }
  const text = await answer.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ApiError(answer.status, `the API answered HTTP ${answer.status} with something that is not JSON`);
    }
  }
  if (!answer.ok) {
    const message = data && typeof data.error === "string" ? data.error : `HTTP ${answer.status}`;
    throw new ApiError(answer.status, message, data);
  }
  return data;
}

export const api = {
  createRun: (body) => request("POST", "/runs", body),
  runs: (limit = 50) => request("GET", `/runs?limit=${limit}`),
  run: (id) => request("GET", `/runs/${encodeURIComponent(id)}`),
  progress: (id) => request("GET", `/runs/${encodeURIComponent(id)}/progress`),
  storyboard: (id) => request("GET", `/runs/${encodeURIComponent(id)}/storyboard`),
  editScene: (id, index, fields) => request("PATCH", `/runs/${encodeURIComponent(id)}/scenes/${index}`, fields),
  insertScene: (id, body) => request("POST", `/runs/${encodeURIComponent(id)}/scenes`, body),
  deleteScene: (id, index, revision) =>
    request("DELETE", `/runs/${encodeURIComponent(id)}/scenes/${index}?revision=${encodeURIComponent(revision)}`),
  exports: (id, body) => request("POST", `/runs/${encodeURIComponent(id)}/exports`, body),
  exportStatus: (poll) => request("GET", poll), // the `poll` path a 202 export answered

  moveScene: (id, index, to, revision) =>
    request("POST", `/runs/${encodeURIComponent(id)}/scenes/${index}/move`, { to, revision }),
  regenerate: (id, fid, body) => request("POST", `/runs/${encodeURIComponent(id)}/frames/${fid}/regenerate`, body),
  useVersion: (id, fid, version, revision) =>
    request("PUT", `/runs/${encodeURIComponent(id)}/frames/${fid}/current`, { version, revision }),
  replan: (id, body) => request("POST", `/runs/${encodeURIComponent(id)}/replan`, body),
  renderPending: (id) => request("POST", `/runs/${encodeURIComponent(id)}/images`, {}),
  feedback: (id, body) => request("POST", `/runs/${encodeURIComponent(id)}/feedback`, body),
  policy: () => request("GET", "/policy"),
  openapi: () => request("GET", "/openapi.json"),
};

const UPLOAD_BUSY_TRIES = 60; // a 429 (storyreel serve's workers are busy) is tried again after its Retry-After

/** PUT the audio to the upload URL POST /runs handed out (S3 presigned, or `storyreel serve`'s own).
 * `onBusy(seconds)` is told each time the server answers 429 and the upload waits to try again. */
export async function upload(target, blob, onBusy = () => {}) {
  let answer;
  for (let attempt = 1; ; attempt++) {
    try {
      answer = await fetch(target.url, { method: target.method || "PUT", headers: target.headers || {}, body: blob });
    } catch (exc) {
      throw new ApiError(0, `the upload did not get through (${exc.message})`);
    }
    if (answer.status !== 429 || attempt >= UPLOAD_BUSY_TRIES) break;
    const wait = Math.min(60, Math.max(1, Number(answer.headers.get("Retry-After")) || 5));
    onBusy(wait);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  if (!answer.ok) {
    const text = await answer.text();
    let message = `the upload was refused: HTTP ${answer.status}`;
    try {
      const body = JSON.parse(text);
      if (typeof body.error === "string") message = `the upload was refused: ${body.error}`;
    } catch {
      // S3 answers XML: the status says enough
    }
    throw new ApiError(answer.status, message);
  }
}
