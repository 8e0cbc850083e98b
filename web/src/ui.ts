// Small pieces the pages share: names, money text, error banners.
import { ApiFailure } from "./api.ts";
import { h } from "./dom.ts";

export type Names = Record<string, { name: string } | undefined>;

export function nameOf(names: Names, userId: string): string {
  return names[userId]?.name ?? "someone";
}

/** A signed decimal string without its sign, and which way it points. */
export function magnitude(amount: string): { negative: boolean; text: string } {
  return amount.startsWith("-") ? { negative: true, text: amount.slice(1) } : { negative: false, text: amount };
}

/** Run `action`, showing its failure in `where` (an `error` banner) instead of throwing. */
export async function guarded(where: HTMLElement, action: () => Promise<void>): Promise<boolean> {
  where.querySelector(":scope > [data-testid=error]")?.remove();
  try {
    await action();
    return true;
  } catch (error) {
    const message = error instanceof ApiFailure ? error.message : String(error);
    where.prepend(h("p", { testid: "error", class: "error", role: "alert" }, message));
    return false;
  }
}

/** Call `run` at most once per `ms` while asked repeatedly (events arrive in bursts). */
export function debounced(run: () => void, ms = 80): () => void {
  let timer: number | undefined;
  return () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, ms);
  };
}

export function today(): string {
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** An inline form whose submission runs `action`, its failure shown in the form itself. */
export function actionForm(action: () => Promise<void>, ...children: Node[]): HTMLFormElement {
  const form: HTMLFormElement = h(
    "form",
    {
      class: "inline",
      on: {
        submit: (event) => {
          event.preventDefault();
          void guarded(form, action);
        },
      },
    },
    ...children,
  );
  return form;
}
