// A group (or a friend's direct ledger): expenses and the form to add one, balances, the
// settle-up plan, chat and invites, all kept current by the group's live channel.
import type { EventFrame, Schemas } from "../../../clients/typescript/src/index.ts";
import { api, idempotencyKey, ok } from "../api.ts";
import { h, fill } from "../dom.ts";
import { ExpenseForm } from "../expense-form.ts";
import { live } from "../live.ts";
import { pathOf } from "../router.ts";
import { currentUser } from "../session.ts";
import { debounced, guarded, magnitude, nameOf, type Names } from "../ui.ts";
import { pageUrl } from "../config.ts";

type Group = Schemas["Group"];
type ChatMessage = Schemas["ChatMessage"];

export async function groupPage(main: HTMLElement, groupId: string): Promise<() => void> {
  const me = await currentUser();
  if (!me) return () => undefined;
  const fetchGroup = async (): Promise<Group> =>
    ok(await api.GET("/api/groups/{group_id}", { params: { path: { group_id: groupId } } }));
  /** Instead of the page: why there is none, and the way back. */
  const notice = (message: HTMLElement): void =>
    fill(main, h("section", { class: "card" }, message, h("a", { href: pathOf({ page: "home" }), "data-link": true }, "Back to your groups")));
  let group: Group;
  try {
    group = await fetchGroup();
  } catch (error) {
    notice(h("p", { testid: "error", class: "error" }, String((error as Error).message)));
    return () => undefined;
  }
  let names: Names = {};
  const refreshNames = (): void => {
    names = Object.fromEntries(group.members.map((m) => [m.user_id, { name: m.name || m.email }]));
  };
  refreshNames();

  const title = h("h1", { testid: "group-name" }, group.name);
  const invite = h("div", { class: "invite" });
  const expenses = h("ul", { testid: "expense-list", class: "list expenses" });
  const payments = h("ul", { testid: "payment-list", class: "list expenses" });
  const balances = h("ul", { testid: "balances", class: "list" });
  const settle = h("div", { testid: "settle-up" });
  const chat = h("ul", { testid: "chat-list", class: "chat" });
  const members = h("p", { class: "muted" });
  const form = new ExpenseForm(groupId, me.id, group.default_currency, () => later());
  const chatInput = h("input", { testid: "chat-input", maxlength: "4000", placeholder: "Say something", "aria-label": "Message" });
  const typing = h("p", { testid: "typing", class: "muted", "aria-live": "polite" });
  const typists = new Map<string, number>();
  const drawTyping = (): void => {
    const who = [...typists.keys()].map((id) => nameOf(names, id));
    typing.textContent = who.length ? `${who.join(" and ")} ${who.length > 1 ? "are" : "is"} typing…` : "";
  };
  let typedAt = 0;
  chatInput.addEventListener("input", () => {
    if (Date.now() - typedAt < 1500) return;
    typedAt = Date.now();
    live.typing(`group:${groupId}`);
  });
  const chatForm: HTMLFormElement = h(
    "form",
    { class: "inline", on: { submit: (event) => { event.preventDefault(); void send(); } } },
    chatInput,
    h("button", { testid: "chat-send", type: "submit" }, "Send"),
  );
  const expensesCard = h("section", { class: "card" }, h("h2", {}, "Expenses"), form.element, expenses, h("h3", {}, "Payments"), payments);
  const balancesCard = h("section", { class: "card" }, h("h2", {}, "Balances"), balances, h("h3", {}, "Settle up"), settle);
  const chatCard = h("section", { class: "card" }, h("h2", {}, "Chat"), chat, typing, chatForm);
  fill(
    main,
    h(
      "div",
      { testid: "group-page", class: "group" },
      h("div", { class: "group-head" }, title, members, group.kind === "group" ? invite : null),
      h("div", { class: "columns" }, h("div", {}, expensesCard), h("div", {}, balancesCard, chatCard)),
    ),
  );

  const drawMembers = (): void => {
    title.textContent = group.kind === "direct" ? `You and ${group.members.find((m) => m.user_id !== me.id)?.name ?? "a friend"}` : group.name;
    members.textContent = group.members.map((m) => m.name || m.email).join(", ");
    form.setMembers(group.members);
  };
  drawMembers();
  if (group.kind === "group") {
    fill(invite, h("button", { testid: "create-invite", type: "button", on: { click: () => void makeInvite() } }, "Invite people"));
  }

  async function makeInvite(): Promise<void> {
    await guarded(invite, async () => {
      const made = ok(await api.POST("/api/groups/{group_id}/invites", { params: { path: { group_id: groupId } }, headers: idempotencyKey(), body: { expires_in_hours: 168 } }));
      const url = pageUrl(`invite/${made.token}`);
      fill(
        invite,
        h("span", {}, "Share this link: "),
        h("a", { testid: "invite-link", href: url }, url),
        h("button", { type: "button", class: "link", on: { click: () => void navigator.clipboard?.writeText(url) } }, "copy"),
      );
    });
  }

  async function loadGroup(): Promise<void> {
    group = await fetchGroup();
    refreshNames();
    drawMembers();
  }

  async function loadExpenses(): Promise<void> {
    const page = ok(await api.GET("/api/groups/{group_id}/expenses", { params: { path: { group_id: groupId }, query: { limit: 50 } } }));
    names = { ...names, ...page.users };
    fill(
      expenses,
      ...page.items.map((expense) => {
        const payers = expense.payers.map((p) => nameOf(names, p.user_id)).join(" and ");
        return h(
          "li",
          { testid: "expense-item" },
          h("span", { class: "what" }, expense.description),
          " ",
          h("span", { class: "amount" }, `${expense.amount} ${expense.currency}`),
          h("span", { class: "muted" }, ` ${expense.date} · paid by ${payers} · ${(expense.split as { kind?: string }).kind ?? ""}`),
          h("button", { type: "button", class: "link", "aria-label": `Delete ${expense.description}`, on: { click: () => void remove(expense.id, expense.version) } }, "delete"),
        );
      }),
    );
    if (!page.items.length) expenses.append(h("li", { class: "muted" }, "No expenses yet."));
  }

  async function loadPayments(): Promise<void> {
    const page = ok(await api.GET("/api/groups/{group_id}/transactions", { params: { path: { group_id: groupId }, query: { limit: 20 } } }));
    names = { ...names, ...page.users };
    fill(
      payments,
      ...page.items.map((payment) =>
        h(
          "li",
          { testid: "payment-item" },
          h("span", { class: "what" }, `${nameOf(names, payment.from_user)} paid ${nameOf(names, payment.to_user)}`),
          " ",
          h("span", { class: "amount" }, `${payment.amount} ${payment.currency}`),
          h("span", { class: "muted" }, ` ${payment.date}${payment.note ? ` · ${payment.note}` : ""}`),
        ),
      ),
    );
    if (!page.items.length) payments.append(h("li", { class: "muted" }, "No payments yet."));
  }

  async function remove(expenseId: string, version: number): Promise<void> {
    await guarded(expensesCard, async () => {
      const { error, response } = await api.DELETE("/api/groups/{group_id}/expenses/{expense_id}", {
        params: { path: { group_id: groupId, expense_id: expenseId }, header: { "If-Match": `"${version}"` } as never },
      });
      if (error !== undefined) ok({ error, response });
      later();
    });
  }

  async function loadBalances(): Promise<void> {
    const [owed, plan] = await Promise.all([
      api.GET("/api/groups/{group_id}/balances", { params: { path: { group_id: groupId } } }).then(ok),
      api.GET("/api/groups/{group_id}/settle-up", { params: { path: { group_id: groupId } } }).then(ok),
    ]);
    names = { ...names, ...owed.users, ...plan.users };
    const nonZero = owed.balances.filter((b) => !/^-?0*(\.0*)?$/.test(b.amount));
    fill(
      balances,
      ...nonZero.map((b) => {
        const { negative, text } = magnitude(b.amount);
        return h("li", { testid: "balance", class: negative ? "owes" : "owed" }, `${nameOf(names, b.user_id)} ${negative ? "owes" : "gets back"} ${text} ${b.currency}`);
      }),
    );
    if (!nonZero.length) balances.append(h("li", { testid: "balance", class: "muted" }, "Everyone is settled up"));
    fill(
      settle,
      ...plan.transfers.map((t) =>
        h(
          "div",
          { testid: "transfer", class: "row transfer" },
          h("span", {}, `${nameOf(names, t.from_user)} pays ${nameOf(names, t.to_user)} ${t.amount} ${t.currency}`),
          h("button", { testid: "record-transfer", type: "button", on: { click: () => void record(t) } }, "Record payment"),
        ),
      ),
    );
    if (!plan.transfers.length) settle.append(h("p", { class: "muted" }, "All settled up"));
  }

  async function record(transfer: Schemas["Transfer"]): Promise<void> {
    await guarded(balancesCard, async () => {
      ok(
        await api.POST("/api/groups/{group_id}/transactions", {
          params: { path: { group_id: groupId }, header: idempotencyKey() },
          body: { from_user: transfer.from_user, to_user: transfer.to_user, amount: transfer.amount, currency: transfer.currency as never },
        }),
      );
      later();
    });
  }

  const shown = new Set<string>();
  function addMessage(message: ChatMessage): void {
    if (typists.has(message.author_id)) {
      window.clearTimeout(typists.get(message.author_id));
      typists.delete(message.author_id);
      drawTyping();
    }
    if (shown.has(message.id)) return;
    shown.add(message.id);
    chat.append(h("li", { testid: "chat-message" }, h("strong", {}, nameOf(names, message.author_id)), " ", message.text));
    chat.scrollTop = chat.scrollHeight;
  }

  async function loadChat(): Promise<void> {
    const page = ok(await api.GET("/api/groups/{group_id}/chats", { params: { path: { group_id: groupId }, query: { limit: 50 } } }));
    names = { ...names, ...page.users };
    shown.clear();
    fill(chat);
    const oldestFirst = [...page.items].sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (const message of oldestFirst) addMessage(message);
  }

  async function send(): Promise<void> {
    const text = chatInput.value.trim();
    if (!text) return;
    await guarded(chatCard, async () => {
      addMessage(ok(await api.POST("/api/groups/{group_id}/chats", { params: { path: { group_id: groupId } }, headers: idempotencyKey(), body: { text } })));
      chatInput.value = "";
    });
  }

  const reloadAll = async (): Promise<void> => {
    await Promise.all([guarded(expensesCard, loadExpenses), guarded(expensesCard, loadPayments), guarded(balancesCard, loadBalances)]);
  };
  const later = debounced(() => void reloadAll());
  const laterGroup = debounced(() => void guarded(main, loadGroup));

  function gone(why: string): void {
    notice(h("p", { testid: "group-gone" }, why));
  }

  /** Events were missed and cannot be replayed: read the whole page again. */
  function reloadEverything(): void {
    laterGroup();
    later();
    void guarded(chatCard, loadChat);
  }

  function onEvent(frame: EventFrame): void {
    if (frame.type === "stream.reset") {
      reloadEverything();
      return;
    }
    if (frame.type === "chat.message") {
      addMessage(frame.data as ChatMessage);
      return;
    }
    if (frame.type.startsWith("member.") || frame.type === "group.updated") laterGroup();
    if (frame.type === "group.deleted") {
      gone("This group was deleted.");
      return;
    }
    later();
  }

  const stop = live.subscribe(`group:${groupId}`, {
    event: onEvent,
    ended: (reason) => {
      gone(reason === "group.deleted" ? "This group was deleted." : "You are no longer a member of this group.");
    },
    ephemeral: (frame) => {
      if (frame.type !== "typing" || frame.data.user_id === me.id) return;
      const userId = frame.data.user_id;
      window.clearTimeout(typists.get(userId));
      typists.set(userId, window.setTimeout(() => { typists.delete(userId); drawTyping(); }, 4000));
      drawTyping();
    },
    stale: reloadEverything,
  });
  await Promise.all([reloadAll(), guarded(chatCard, loadChat)]);
  return stop;
}
