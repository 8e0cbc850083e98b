// Home: your groups and a new one, your friends and their direct ledgers.
import { api, idempotencyKey, ok } from "../api.ts";
import { adoptTokenResponse, isSignedIn } from "../auth.ts";
import { h, fill } from "../dom.ts";
import { live } from "../live.ts";
import { navigate, pathOf } from "../router.ts";
import { currentUser } from "../session.ts";
import { actionForm, debounced, guarded, magnitude } from "../ui.ts";

export async function homePage(main: HTMLElement): Promise<() => void> {
  if (!isSignedIn()) {
    fill(
      main,
      h(
        "section",
        { class: "card intro" },
        h("h1", {}, "Share expenses with anyone"),
        h("p", {}, "Sign in to see your groups, split bills every which way and settle up."),
        developerSignIn(),
      ),
    );
    return () => undefined;
  }
  const user = await currentUser();
  const groups = h("ul", { class: "list", testid: "group-list" });
  const friends = h("ul", { class: "list", testid: "friend-list" });
  const groupsCard = h("section", { class: "card" }, h("h2", {}, "Groups"), groups, newGroupForm(user?.default_currency ?? "EUR"));
  const friendsCard = h("section", { class: "card" }, h("h2", {}, "Friends"), friends, newFriendForm());
  fill(main, h("div", { class: "columns" }, groupsCard, friendsCard));

  const reload = async (): Promise<void> => {
    await guarded(groupsCard, async () => {
      const page = ok(await api.GET("/api/groups", { params: { query: { limit: 100 } } }));
      fill(
        groups,
        ...page.items
          .filter((group) => group.kind === "group")
          .map((group) =>
            h(
              "li",
              {},
              h("a", { href: pathOf({ page: "group", groupId: group.id }), "data-link": true, testid: "group-link" }, group.name),
              h("span", { class: "muted" }, ` ${group.member_count} members · ${group.default_currency}`),
            ),
          ),
      );
      if (!groups.childElementCount) groups.append(h("li", { class: "muted" }, "No groups yet: start one below."));
    });
    await guarded(friendsCard, async () => {
      const list = ok(await api.GET("/api/friends"));
      fill(
        friends,
        ...list.items.map((friend) =>
          h(
            "li",
            {},
            h("a", { href: pathOf({ page: "group", groupId: friend.group_id }), "data-link": true, testid: "friend-link" }, friend.name || friend.email),
            h(
              "span",
              { class: "muted" },
              " " +
                (friend.balances.length
                  ? friend.balances
                      .map((b) => {
                        const { negative, text } = magnitude(b.amount);
                        return negative ? `you owe ${text} ${b.currency}` : `owes you ${text} ${b.currency}`;
                      })
                      .join(", ")
                  : "settled up"),
            ),
          ),
        ),
      );
      if (!friends.childElementCount) friends.append(h("li", { class: "muted" }, "Add a friend by e-mail to share expenses outside any group."));
    });
  };
  await reload();
  const later = debounced(() => void reload());
  const stop = user ? live.subscribe(`user:${user.id}`, { event: later, stale: later }) : () => undefined;
  return stop;
}

function newGroupForm(currency: string): HTMLFormElement {
  const name = h("input", { testid: "new-group-name", name: "name", required: true, maxlength: "100", placeholder: "Lisbon trip" });
  const code = h("input", { testid: "new-group-currency", name: "currency", value: currency, maxlength: "3", size: "4", pattern: "[A-Za-z]{3}" });
  return actionForm(
    async () => {
      const group = ok(
        await api.POST("/api/groups", {
          headers: idempotencyKey(),
          body: { name: name.value, default_currency: code.value.toUpperCase() as never },
        }),
      );
      navigate(pathOf({ page: "group", groupId: group.id }));
    },
    h("label", {}, "New group ", name),
    h("label", {}, "Currency ", code),
    h("button", { testid: "create-group", type: "submit" }, "Create group"),
  );
}

function newFriendForm(): HTMLFormElement {
  const email = h("input", { testid: "friend-email", type: "email", required: true, placeholder: "friend@example.org" });
  return actionForm(
    async () => {
      const added = ok(await api.POST("/api/friends", { headers: idempotencyKey(), body: { email: email.value } }));
      navigate(pathOf({ page: "group", groupId: added.group_id }));
    },
    h("label", {}, "Friend's e-mail ", email),
    h("button", { testid: "add-friend", type: "submit" }, "Add friend"),
  );
}

/** For a local try-out without Google sign-in: paste what `expense-tracker token` prints. */
function developerSignIn(): HTMLElement {
  const pasted = h("textarea", { testid: "dev-token", rows: "3", cols: "60", "aria-label": "Token response" });
  const problem = h("p", { class: "error", hidden: true });
  const use = h("button", { testid: "dev-sign-in", type: "button" }, "Use this session");
  use.addEventListener("click", () => {
    if (adoptTokenResponse(pasted.value.trim())) navigate(location.pathname);
    else {
      problem.hidden = false;
      problem.textContent = "That is not the JSON `expense-tracker token EMAIL --refresh` prints.";
    }
  });
  return h(
    "details",
    { class: "dev" },
    h("summary", {}, "No Google sign-in on this server yet?"),
    h(
      "p",
      {},
      "Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET (see the README), or, to try it out locally, run ",
      h("code", {}, ".venv/bin/expense-tracker token you@example.com --refresh"),
      " and paste what it prints:",
    ),
    pasted,
    h("div", { class: "row" }, use),
    problem,
  );
}
