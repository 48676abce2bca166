// Where the API and the sign-in are: /config.json when the host has one (the cloud writes it beside the app),
// else the same origin with no sign-in (`storyreel serve`).

export const DEFAULTS = { api_url: "", auth: "none" };

let loaded = null;

export async function loadConfig() {
  if (loaded) return loaded;
  let config = { ...DEFAULTS };
  const answer = await fetch(new URL("config.json", document.baseURI), { cache: "no-cache" });
  if (answer.ok) {
    const body = await answer.json();
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new Error("config.json is not a JSON object");
    }
    config = { ...config, ...body };
  } else if (answer.status !== 404) {
    throw new Error(`config.json: HTTP ${answer.status}`);
  }
  config.api_url = String(config.api_url || "").replace(/\/+$/, "");
  loaded = config;
  return config;
}
