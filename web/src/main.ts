// The app's entry: the sign-in fragment, the header, and the page the path names.
import "./style.css";
import { isSignedIn, keepFresh, onSignedOut, signInUrl, signOut, takeFragment } from "./auth.ts";
import { h, fill } from "./dom.ts";
import { live } from "./live.ts";
import { groupPage } from "./pages/group.ts";
import { homePage } from "./pages/home.ts";
import { invitePage } from "./pages/invite.ts";
import { currentRoute, startRouter } from "./router.ts";
import { clearUser, currentUser, type User } from "./session.ts";
import { BASE } from "./config.ts";

const top = document.getElementById("top")!;
const main = document.getElementById("main")!;
let signInError = takeFragment();
keepFresh();
let leave: (() => void) | undefined;
/** The signed-in user's own channel, followed on every page while signed in. */
let userChannel: (() => void) | undefined;
const status = h("span", { testid: "live-status", class: "live" }, "connecting…");
live.onState((state) => {
  status.textContent = state;
  status.dataset.state = state;
});

function header(user: User | null): void {
  const title = h("a", { href: BASE, "data-link": true, class: "brand" }, "Expense Tracker");
  if (!isSignedIn()) {
    fill(
      top,
      title,
      h("a", { href: signInUrl(), testid: "sign-in", class: "button" }, "Sign in with Google"),
    );
    return;
  }
  const out = h("button", { testid: "sign-out", type: "button", on: { click: () => void signOut() } }, "Sign out");
  fill(top, title, status, h("span", { testid: "user-name", class: "user" }, user?.name ?? ""), out);
}

async function render(): Promise<void> {
  leave?.();
  leave = undefined;
  const user = isSignedIn() ? await currentUser().catch(() => null) : null;
  header(user);
  if (signInError) {
    top.append(h("p", { testid: "sign-in-error", class: "error", role: "alert" }, `Sign-in failed: ${signInError}`));
    signInError = null;
  }
  const route = currentRoute();
  if (isSignedIn()) {
    live.start();
    if (user && !userChannel) userChannel = live.subscribe(`user:${user.id}`, { event: () => undefined, stale: () => undefined });
  }
  if (route.page === "group" && isSignedIn()) leave = await groupPage(main, route.groupId);
  else if (route.page === "invite") leave = await invitePage(main, route.token);
  else leave = await homePage(main);
}

onSignedOut(() => {
  clearUser();
  userChannel = undefined;
  live.stop();
  void render();
});
startRouter(() => void render());
void render().catch((error: unknown) => console.error(error));
