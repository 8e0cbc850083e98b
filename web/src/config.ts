// Where the app lives and which API it talks to.

/** The app's base path: "/app/" when the backend serves the build, "/" under `npm run dev`. */
export const BASE: string = import.meta.env.BASE_URL;

/** The API's origin: VITE_API_BASE_URL, else the dev backend on :5000, else this page's origin. */
export const API: string = (
  (import.meta.env.VITE_API_BASE_URL as string | undefined) ??
  (import.meta.env.DEV ? "http://localhost:5000" : location.origin)
).replace(/\/$/, "");

/** The WebSocket endpoint on the same host as the API. */
export const WS_URL: string = API.replace(/^http/, "ws") + "/api/ws";

/** An absolute URL of one of the app's own pages. */
export function pageUrl(path: string): string {
  return `${location.origin}${BASE}${path.replace(/^\//, "")}`;
}
