// The typed REST client, with this app's session on every request.
import { createApiClient } from "../../clients/typescript/src/index.ts";
import type { ApiError } from "../../clients/typescript/src/index.ts";
import { currentToken, forget } from "./auth.ts";
import { API } from "./config.ts";

export const api = createApiClient({ baseUrl: API });

api.use({
  async onRequest({ request }) {
    const token = await currentToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // The session is over (ended elsewhere, or the account is gone): sign in again.
    if (response.status === 401) forget();
    return response;
  },
});

/** An API error answer, as a thrown Error with the server's message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The data of an openapi-fetch result, or an ApiFailure with the error's message. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const error = (result.error as ApiError | undefined)?.error;
    throw new ApiFailure(
      result.response.status,
      error?.code ?? "error",
      error?.message ?? `the server answered ${result.response.status}`,
    );
  }
  return result.data;
}

/** An idempotency key for a POST that creates something: a retry of it creates nothing more. */
export function idempotencyKey(): { "Idempotency-Key": string } {
  return { "Idempotency-Key": crypto.randomUUID() };
}
