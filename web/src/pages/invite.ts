// An invite link: who invites you where, and joining (after signing in, which comes back here).
import { api, ok } from "../api.ts";
import { isSignedIn, signInUrl } from "../auth.ts";
import { h, fill } from "../dom.ts";
import { navigate, pathOf } from "../router.ts";
import { guarded } from "../ui.ts";

export async function invitePage(main: HTMLElement, token: string): Promise<() => void> {
  const card = h("section", { class: "card invite-page" });
  fill(main, card);
  if (!isSignedIn()) {
    fill(
      card,
      h("h1", {}, "You're invited"),
      h("p", {}, "Sign in to see the group and join it: you come back to this page."),
      h("a", { href: signInUrl(), class: "button" }, "Sign in with Google to join"),
    );
    return () => undefined;
  }
  await guarded(card, async () => {
    const preview = ok(await api.GET("/api/invites/{token}", { params: { path: { token } } }));
    const join = h("button", { testid: "accept-invite", type: "button", class: "primary" }, "Join the group");
    join.addEventListener("click", () => {
      void guarded(card, async () => {
        const { data, error, response } = await api.POST("/api/invites/{token}/accept", { params: { path: { token } } });
        const group = ok({ data, error, response });
        navigate(pathOf({ page: "group", groupId: group.id }));
      });
    });
    fill(
      card,
      h("h1", {}, "You're invited to ", h("span", { testid: "invite-group-name" }, preview.group.name)),
      h("p", {}, `${preview.invited_by} invited you; ${preview.group.member_count} people are in it.`),
      join,
    );
  });
  return () => undefined;
}
