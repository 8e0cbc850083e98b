// The add-expense form: several payers, every split kind, and a receipt scan that fills it in.
// Amounts stay decimal strings from input to request; the server checks that they add up.
import type { Schemas } from "../../clients/typescript/src/index.ts";
import { api, idempotencyKey, ok } from "./api.ts";
import { h, fill } from "./dom.ts";
import { guarded, today } from "./ui.ts";

type Member = Schemas["Member"];
type NewExpense = Schemas["NewExpense"];
type Split = Schemas["Split"];
type Kind = Split["kind"];

const KINDS: Array<[Kind, string]> = [
  ["equal", "Equally"],
  ["exact", "Exact amounts"],
  ["percent", "Percentages"],
  ["shares", "Shares"],
  ["items", "Itemized"],
];

interface ItemLine {
  row: HTMLElement;
  description: HTMLInputElement;
  amount: HTMLInputElement;
  members: Map<string, HTMLInputElement>;
}

export class ExpenseForm {
  readonly element: HTMLFormElement;
  private members: Member[] = [];
  private readonly description = h("input", { testid: "expense-description", required: true, maxlength: "200", placeholder: "Dinner" });
  private readonly amount = h("input", { testid: "expense-amount", required: true, inputmode: "decimal", placeholder: "0.00", size: "8" });
  private readonly currency = h("input", { testid: "expense-currency", maxlength: "3", size: "4" });
  private readonly date = h("input", { testid: "expense-date", type: "date" });
  private readonly kind = h("select", { testid: "split-kind" }, ...KINDS.map(([value, label]) => h("option", { value }, label)));
  private readonly payers = h("div", { class: "payers" });
  private readonly split = h("div", { class: "split" });
  private readonly receiptStatus = h("span", { testid: "receipt-status", class: "muted" });
  private readonly tip = h("input", { inputmode: "decimal", placeholder: "0.00", size: "6", "aria-label": "Tip" });
  /** What a scanned receipt's split carried besides its lines (tax, discount), kept as sent. */
  private extras: Record<string, unknown> = {};
  private receiptId: string | null = null;
  private items: ItemLine[] = [];
  /** Inputs of the per-member rows, by kind and member, so a redraw keeps what was typed. */
  private readonly values = new Map<string, string | boolean>();

  constructor(
    private readonly groupId: string,
    private readonly me: string,
    defaultCurrency: string,
    private readonly saved: () => void,
  ) {
    this.currency.value = defaultCurrency;
    this.date.value = today();
    this.kind.addEventListener("change", () => this.drawSplit());
    const file = h("input", { testid: "receipt-file", type: "file", accept: "image/png,image/jpeg,image/webp" });
    file.addEventListener("change", () => {
      const chosen = file.files?.[0];
      if (chosen) void this.scan(chosen);
      file.value = "";
    });
    this.element = h(
      "form",
      { class: "expense-form", on: { submit: (event) => { event.preventDefault(); void this.submit(); } } },
      h("h3", {}, "Add an expense"),
      h("div", { class: "row" }, h("label", {}, "Description ", this.description), h("label", {}, "Amount ", this.amount), h("label", {}, "Currency ", this.currency), h("label", {}, "Date ", this.date)),
      h("div", { class: "row" }, h("label", {}, "Scan a receipt ", file), this.receiptStatus),
      h("fieldset", {}, h("legend", {}, "Paid by"), this.payers, h("button", { type: "button", testid: "add-payer", on: { click: () => this.addPayer() } }, "Add a payer")),
      h("fieldset", {}, h("legend", {}, "Split ", this.kind), this.split),
      h("button", { testid: "add-expense", type: "submit", class: "primary" }, "Add expense"),
    );
    this.drawPayersHint();
  }

  /** The group's members changed (someone joined or left): redraw their rows, keeping input. */
  setMembers(members: Member[]): void {
    this.remember();
    this.members = members;
    for (const select of this.payers.querySelectorAll("select")) this.fillMemberOptions(select, select.value);
    this.drawSplit();
  }

  private nameOf(userId: string): string {
    return this.members.find((m) => m.user_id === userId)?.name ?? "someone";
  }

  private drawPayersHint(): void {
    if (!this.payers.querySelector("[data-testid=payer-row]")) {
      fill(this.payers, h("p", { class: "muted hint" }, "You paid it all (add payers to share the paying)."));
    }
  }

  private fillMemberOptions(select: HTMLSelectElement, chosen: string): void {
    fill(select, ...this.members.map((m) => h("option", { value: m.user_id, selected: m.user_id === chosen }, m.name || m.email)));
  }

  private addPayer(): void {
    this.payers.querySelector(".hint")?.remove();
    const taken = new Set([...this.payers.querySelectorAll("select")].map((s) => s.value));
    const next = this.members.find((m) => !taken.has(m.user_id))?.user_id ?? this.me;
    const select = h("select", { "aria-label": "Payer" });
    this.fillMemberOptions(select, next);
    const amount = h("input", { inputmode: "decimal", placeholder: "0.00", size: "8", "aria-label": "Paid" });
    const row: HTMLElement = h(
      "div",
      { testid: "payer-row", class: "row" },
      select,
      amount,
      h("button", { type: "button", class: "link", on: { click: () => { row.remove(); this.drawPayersHint(); } } }, "remove"),
    );
    this.payers.append(row);
  }

  private remember(): void {
    for (const input of this.split.querySelectorAll<HTMLInputElement>("input[data-key]")) {
      this.values.set(input.dataset.key!, input.type === "checkbox" ? input.checked : input.value);
    }
  }

  private memberInput(kind: Kind, member: Member): HTMLInputElement {
    const key = `${kind}:${member.user_id}`;
    const kept = this.values.get(key);
    if (kind === "equal") {
      return h("input", { type: "checkbox", "data-key": key, "data-user": member.user_id, checked: kept === undefined ? true : kept === true });
    }
    const placeholder = kind === "shares" ? "1" : kind === "percent" ? "%" : "0.00";
    return h("input", { "data-key": key, "data-user": member.user_id, inputmode: "decimal", size: "7", placeholder, value: typeof kept === "string" ? kept : kind === "shares" ? "1" : "" });
  }

  private drawSplit(): void {
    this.remember();
    const kind = this.kind.value as Kind;
    if (kind === "items") {
      this.drawItems();
      return;
    }
    fill(
      this.split,
      ...this.members.map((member) =>
        h("label", { testid: "split-row", class: "row" }, h("span", { class: "who" }, member.name || member.email), this.memberInput(kind, member)),
      ),
    );
  }

  private drawItems(): void {
    const lines = h("div", { class: "items" });
    for (const item of this.items) lines.append(item.row);
    fill(
      this.split,
      h("p", { class: "muted" }, "Each line is shared by the people ticked on it (nobody ticked: everyone)."),
      lines,
      h("button", { type: "button", testid: "add-item", on: { click: () => { this.addItem(); this.drawItems(); } } }, "Add a line"),
      h("label", { class: "row" }, "Tip ", this.tip),
    );
  }

  private addItem(description = "", amount = "", members: string[] = []): void {
    const line: ItemLine = {
      row: h("div", { class: "row item" }),
      description: h("input", { placeholder: "Pizza", value: description, "aria-label": "Line" }),
      amount: h("input", { placeholder: "0.00", value: amount, inputmode: "decimal", size: "7", "aria-label": "Line amount" }),
      members: new Map(),
    };
    const boxes = this.members.map((member) => {
      const box = h("input", { type: "checkbox", checked: members.includes(member.user_id) });
      line.members.set(member.user_id, box);
      return h("label", { testid: "split-row", class: "tick" }, box, member.name || member.email);
    });
    line.row.append(line.description, line.amount, ...boxes);
    this.items.push(line);
  }

  private readSplit(): Split {
    this.remember();
    const kind = this.kind.value as Kind;
    const inputs = [...this.split.querySelectorAll<HTMLInputElement>("input[data-user]")];
    const byUser = (read: (input: HTMLInputElement) => string): Record<string, string> =>
      Object.fromEntries(inputs.filter((i) => read(i).trim() !== "").map((i) => [i.dataset.user!, read(i).trim()]));
    switch (kind) {
      case "equal":
        return { kind, members: inputs.filter((i) => i.checked).map((i) => i.dataset.user!) };
      case "exact":
        return { kind, amounts: byUser((i) => i.value) };
      case "percent":
        return { kind, percents: byUser((i) => i.value) };
      case "shares":
        return { kind, shares: Object.fromEntries(Object.entries(byUser((i) => i.value)).map(([u, v]) => [u, Number.parseInt(v, 10)])) };
      case "items":
        return {
          ...this.extras,
          kind,
          items: this.items
            .filter((line) => line.description.value.trim() || line.amount.value.trim())
            .map((line) => ({
              description: line.description.value.trim(),
              amount: line.amount.value.trim(),
              members: [...line.members].filter(([, box]) => box.checked).map(([user]) => user),
            })),
          ...(this.tip.value.trim() ? { tip: this.tip.value.trim() } : {}),
        } as Split;
    }
  }

  private body(): NewExpense {
    const payers = [...this.payers.querySelectorAll<HTMLElement>("[data-testid=payer-row]")].map((row) => ({
      user_id: row.querySelector("select")!.value,
      amount: row.querySelector("input")!.value.trim(),
    }));
    return {
      description: this.description.value,
      amount: this.amount.value.trim(),
      currency: this.currency.value.trim().toUpperCase() as NewExpense["currency"],
      date: this.date.value,
      split: this.readSplit(),
      ...(payers.length ? { payers } : {}),
      ...(this.receiptId ? { receipt_id: this.receiptId } : {}),
    };
  }

  private async submit(): Promise<void> {
    const button = this.element.querySelector<HTMLButtonElement>("[data-testid=add-expense]")!;
    button.disabled = true;
    const done = await guarded(this.element, async () => {
      ok(
        await api.POST("/api/groups/{group_id}/expenses", {
          params: { path: { group_id: this.groupId }, header: idempotencyKey() },
          body: this.body(),
        }),
      );
    });
    button.disabled = false;
    if (done) {
      this.reset();
      this.saved();
    }
  }

  private reset(): void {
    this.description.value = "";
    this.amount.value = "";
    this.date.value = today();
    this.receiptId = null;
    this.extras = {};
    this.items = [];
    this.tip.value = "";
    this.values.clear();
    this.receiptStatus.textContent = "";
    fill(this.payers);
    this.drawPayersHint();
    this.kind.value = "equal";
    this.drawSplit();
  }

  /** Upload the image; the fields found fill the form for the person to check before saving. */
  private async scan(file: File): Promise<void> {
    this.receiptStatus.textContent = "scanning…";
    this.receiptStatus.className = "muted";
    const form = new FormData();
    form.append("file", file, file.name);
    const done = await guarded(this.element, async () => {
      const result = ok(
        await api.POST("/api/ocr/upload", {
          params: { query: { currency: this.currency.value.trim().toUpperCase() || undefined } as never },
          headers: idempotencyKey(),
          body: form as never,
          bodySerializer: (body: unknown) => body as FormData,
        }),
      );
      const draft = result.expense_draft;
      if (draft.description) this.description.value = draft.description;
      if (draft.amount) this.amount.value = draft.amount;
      if (draft.currency) this.currency.value = draft.currency;
      if (draft.date) this.date.value = draft.date;
      this.receiptId = draft.receipt_id ?? result.receipt_id;
      const split = draft.split as { items?: Array<{ description: string; amount: string; members?: string[] }> } & Record<string, unknown> | undefined;
      if (split?.items?.length) {
        const { items, kind: _kind, tip, ...extras } = split;
        this.extras = extras;
        this.items = [];
        for (const item of items) this.addItem(item.description, item.amount, item.members ?? []);
        this.tip.value = typeof tip === "string" ? tip : "";
        this.kind.value = "items";
        this.drawSplit();
      }
    });
    const problem = this.element.querySelector(":scope > [data-testid=error]")?.textContent;
    this.receiptStatus.textContent = done ? "filled from the receipt: check it, then add" : `error: ${problem ?? "could not read the receipt"}`;
    this.receiptStatus.className = done ? "muted" : "error";
  }
}
