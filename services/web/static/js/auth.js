// Sign-in through the Cognito hosted UI (authorization code + PKCE, no client secret), when config.auth is
// "cognito"; with any other value the API is called without a token (`storyreel serve`).

const STORE = "storyreel.tokens";
const PENDING = "storyreel.pkce";

function domain(config) {
  const d = String(config.cognito_domain || "").replace(/\/+$/, "");
  return /^https?:\/\//.test(d) ? d : `https://${d}`;
}

function base64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(n = 48) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

export async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

export function enabled(config) {
  return config.auth === "cognito";
}

function saved() {
  const raw = sessionStorage.getItem(STORE);
  return raw ? JSON.parse(raw) : null;
}

function save(tokens) {
  const expires_at = Date.now() + (Number(tokens.expires_in) || 3600) * 1000;
  sessionStorage.setItem(STORE, JSON.stringify({ ...saved(), ...tokens, expires_at }));
}

export function signedIn() {
  return saved() !== null;
}

async function tokenRequest(config, params) {
  const answer = await fetch(`${domain(config)}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.client_id, ...params }),
  });
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(`sign-in failed: ${body.error_description || body.error || answer.status}`);
  return body;
}

/** On the way back from the hosted UI (?code=&state=): swap the code for tokens, then clean the URL. */
export async function completeSignIn(config) {
  if (!enabled(config)) return;
  const url = new URL(location.href);
  const code = url.searchParams.get("code");
  if (!code) return;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  url.searchParams.delete("code");
  const state = url.searchParams.get("state");
  url.searchParams.delete("state");
  history.replaceState(null, "", url.pathname + url.search + (pending?.hash || url.hash));
  if (!pending || pending.state !== state) throw new Error("sign-in failed: the answer does not match the request (start again)");
  save(
    await tokenRequest(config, {
      grant_type: "authorization_code",
      code,
      redirect_uri: config.redirect_uri,
      code_verifier: pending.verifier,
    }),
  );
}

export async function signIn(config) {
  const verifier = randomString();
  const state = randomString(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, hash: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    scope: (config.scopes || ["openid"]).join(" "),
    state,
    code_challenge_method: "S256",
    code_challenge: await challengeOf(verifier),
  });
  location.assign(`${domain(config)}/oauth2/authorize?${query}`);
}

export function signOut(config) {
  sessionStorage.removeItem(STORE);
  const query = new URLSearchParams({ client_id: config.client_id, logout_uri: config.logout_uri || config.redirect_uri });
  location.assign(`${domain(config)}/logout?${query}`);
}

/** The Authorization header for the API ({} without sign-in); refreshes an expired token once. */
export async function authHeader(config) {
  if (!enabled(config)) return {};
  let tokens = saved();
  if (!tokens) return {};
  if (Date.now() > tokens.expires_at - 30_000 && tokens.refresh_token) {
    save(await tokenRequest(config, { grant_type: "refresh_token", refresh_token: tokens.refresh_token }));
    tokens = saved();
  }
  return { Authorization: `Bearer ${tokens.access_token || tokens.id_token}` };
}

export function forget() {
  sessionStorage.removeItem(STORE);
}
