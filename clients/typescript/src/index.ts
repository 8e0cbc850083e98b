// The Expense Tracker client: REST through openapi-fetch on the generated `paths`, and the
// WebSocket's frames as types. Regenerate the types with `make client` (see README.md).
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";
import type { ClientCommand, ServerFrame } from "./frames.d.ts";

export type { components, operations, paths } from "./schema.d.ts";
export type * from "./frames.d.ts";

/** The API's named types: `Schemas["Expense"]`, `Schemas["Group"]`, ... */
export type Schemas = components["schemas"];
export type Expense = Schemas["Expense"];
export type NewExpense = Schemas["NewExpense"];
export type Group = Schemas["Group"];
export type Balance = Schemas["Balance"];
export type Transfer = Schemas["Transfer"];
export type ApiError = Schemas["Error"];

/** An event frame: what a subscription delivers, numbered per channel. */
export type EventFrame = Extract<ServerFrame, { seq: number }>;

export interface ApiClientOptions extends ClientOptions {
  /** The bearer token, or a function that returns the current one (after a refresh, say). */
  token?: string | (() => string | undefined);
}

/** A typed client for `baseUrl` (the API's origin), sending the bearer token on every request. */
export function createApiClient(options: ApiClientOptions = {}): Client<paths> {
  const { token, ...rest } = options;
  const client = createClient<paths>(rest);
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        const current = typeof token === "function" ? token() : token;
        if (current) request.headers.set("Authorization", `Bearer ${current}`);
        return request;
      },
    });
  }
  return client;
}

/** A server frame from a WebSocket message's text. */
export function parseServerFrame(text: string): ServerFrame {
  return JSON.parse(text) as ServerFrame;
}

/** Whether `frame` is an event (rather than a reply or one of the server's own frames). */
export function isEvent(frame: ServerFrame): frame is EventFrame {
  return "seq" in frame && frame.type !== "reply";
}

/** A command as the text of a WebSocket message. */
export function commandText(command: ClientCommand): string {
  return JSON.stringify(command);
}
