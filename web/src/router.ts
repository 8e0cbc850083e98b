// Pages by path under the app's base, with the History API; links marked `data-link` navigate
// without reloading.
import { BASE } from "./config.ts";

export type Route =
  | { page: "home" }
  | { page: "group"; groupId: string }
  | { page: "invite"; token: string };

export function currentRoute(): Route {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  const [first, second] = path.split("/").map(decodeURIComponent);
  if (first === "groups" && second) return { page: "group", groupId: second };
  if (first === "invite" && second) return { page: "invite", token: second };
  return { page: "home" };
}

export function pathOf(route: Route): string {
  if (route.page === "group") return `${BASE}groups/${encodeURIComponent(route.groupId)}`;
  if (route.page === "invite") return `${BASE}invite/${encodeURIComponent(route.token)}`;
  return BASE;
}

let onChange: () => void = () => undefined;

export function startRouter(render: () => void): void {
  onChange = render;
  window.addEventListener("popstate", () => onChange());
  document.addEventListener("click", (event) => {
    const link = (event.target as Element | null)?.closest<HTMLAnchorElement>("a[data-link]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(link.getAttribute("href") ?? BASE);
  });
}

export function navigate(path: string): void {
  if (path !== location.pathname) history.pushState(null, "", path);
  onChange();
}
