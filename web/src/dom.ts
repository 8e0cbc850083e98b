// A few typed helpers to build the DOM without a framework.

type Child = Node | string | null | undefined | false;
type Handlers = Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
type Attributes = { on?: Handlers } & Record<string, string | boolean | undefined | Handlers>;

/** `h("button", {testid: "add", on: {click}}, "Add")`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "on" || value === undefined || value === false) continue;
    const attribute = name === "testid" ? "data-testid" : name;
    if (value === true) element.setAttribute(attribute, "");
    else element.setAttribute(attribute, value as string);
  }
  for (const [event, listener] of Object.entries(attributes.on ?? {})) {
    element.addEventListener(event, listener as EventListener);
  }
  element.append(...children.filter((child): child is Node | string => !!child || child === ""));
  return element;
}

/** Replace everything inside `parent` by `children`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((child): child is Node | string => !!child));
}

/** The element with this data-testid inside `root` (it must be there). */
export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, testid: string): T {
  const element = root.querySelector<T>(`[data-testid="${testid}"]`);
  if (!element) throw new Error(`no element ${testid}`);
  return element;
}
