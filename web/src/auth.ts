// The session: tokens from the sign-in redirect's fragment, kept in localStorage (shared by tabs),
// renewed with the refresh token before the access token runs out.
import { API } from "./config.ts";

const KEY = "expense-tracker.session";
const EARLY_MS = 30_000;

interface Session {
  access_token: string;
  refresh_token: string;
  /** When the access token expires, in ms since the epoch. */
  expires_at: number;
}

const listeners = new Set<() => void>();

function load(): Session | null {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "null") as Session | null;
    return stored && typeof stored.access_token === "string" ? stored : null;
  } catch {
    return null;
  }
}

/** Keep the pair a sign-in, a renewal or the command line handed out. */
function keep(accessToken: string, refreshToken: string, expiresInSeconds: number): void {
  store({ access_token: accessToken, refresh_token: refreshToken, expires_at: Date.now() + expiresInSeconds * 1000 });
}

function store(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
  keepFresh();
}

let renewal: number | undefined;

/**
 * Renew the access token shortly before it expires, even while nothing is being sent (an open
 * page, its socket live). At most every 10 s, so a renewal that cannot reach the server (offline)
 * is tried again without spinning.
 */
export function keepFresh(): void {
  window.clearTimeout(renewal);
  const session = load();
  if (!session) return;
  const wait = Math.max(10_000, session.expires_at - Date.now() - EARLY_MS);
  renewal = window.setTimeout(() => void currentToken().finally(keepFresh), wait);
}

export function isSignedIn(): boolean {
  return load() !== null;
}

/** Called when the session ends (signed out here, elsewhere, or refused by the server). */
export function onSignedOut(listener: () => void): void {
  listeners.add(listener);
}

export function forget(): void {
  const had = load() !== null;
  store(null);
  if (had) for (const listener of listeners) listener();
}

/**
 * Read what the sign-in redirect left in the fragment: tokens (kept, then wiped from the address
 * bar and history) or an error, whose description is returned.
 */
export function takeFragment(): string | null {
  if (!location.hash.includes("=")) return null;
  const fragment = new URLSearchParams(location.hash.slice(1));
  history.replaceState(history.state, "", location.pathname + location.search);
  const error = fragment.get("error");
  if (error) return fragment.get("error_description") || error;
  const access = fragment.get("access_token");
  const refresh = fragment.get("refresh_token");
  if (access && refresh) keep(access, refresh, Number(fragment.get("expires_in") ?? "0"));
  return null;
}

/**
 * Take a session from the JSON `expense-tracker token EMAIL --refresh` prints, for a server
 * without Google sign-in configured (a local try-out). Returns whether it held one.
 */
export function adoptTokenResponse(text: string): boolean {
  try {
    const body = JSON.parse(text) as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== "string" || typeof body.refresh_token !== "string") return false;
    keep(body.access_token, body.refresh_token, typeof body.expires_in === "number" ? body.expires_in : 0);
    return true;
  } catch {
    return false;
  }
}

/** Where the sign-in link goes: the API's login, asked to come back to this very page. */
export function signInUrl(): string {
  const next = location.origin + location.pathname + location.search;
  return `${API}/api/login?next=${encodeURIComponent(next)}`;
}

/**
 * A current access token, renewed first if it is about to expire. Tabs renew one at a time
 * (a Web Lock) and re-read the shared storage inside the lock, so no two of them send the same
 * refresh token (a reuse would end the session everywhere).
 */
export async function currentToken(): Promise<string | undefined> {
  const session = load();
  if (!session) return undefined;
  if (session.expires_at - Date.now() > EARLY_MS) return session.access_token;
  return renewUnless((latest) => latest.expires_at - Date.now() > EARLY_MS);
}

/**
 * The server refused `refused` (401): renew the session once, unless another tab or request
 * already did (then its newer token is used). Undefined when the session cannot be renewed.
 */
export async function renewAfterRefusal(refused: string): Promise<string | undefined> {
  return renewUnless((latest) => latest.access_token !== refused);
}

/** Under the tabs' lock, with storage read again: the stored token if `stillGood`, else a new one. */
async function renewUnless(stillGood: (latest: Session) => boolean): Promise<string | undefined> {
  const renew = async (): Promise<string | undefined> => {
    const latest = load();
    if (!latest) return undefined;
    return stillGood(latest) ? latest.access_token : renewWith(latest.refresh_token);
  };
  return navigator.locks ? navigator.locks.request("expense-tracker.refresh", renew) : renew();
}

async function renewWith(refreshToken: string): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(`${API}/api/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: refreshToken }),
    });
  } catch {
    return load()?.access_token; // offline: keep the session, the next call tries again
  }
  if (!response.ok) {
    forget();
    return undefined;
  }
  const body = (await response.json()) as { access_token: string; refresh_token: string; expires_in: number };
  keep(body.access_token, body.refresh_token, body.expires_in);
  return body.access_token;
}

/** End the session at the server, then here. */
export async function signOut(): Promise<void> {
  const token = await currentToken();
  if (token) {
    await fetch(`${API}/api/logout`, { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(
      () => undefined,
    );
  }
  forget();
}
