// The typed REST client, with this app's session on every request.
import { createApiClient } from "../../clients/typescript/src/index.ts";
import type { ApiError } from "../../clients/typescript/src/index.ts";
import { currentToken, forget, renewAfterRefusal } from "./auth.ts";
import { API } from "./config.ts";

/**
 * fetch, with one second chance on 401: the access token may have expired (or been revoked) since
 * it was read, so renew it with the refresh token and send the same request again, once. A second
 * 401, or a session that cannot be renewed, ends the session here.
 */
async function fetchRenewing(request: Request): Promise<Response> {
  const sent = request.headers.get("Authorization")?.replace(/^Bearer /, "");
  const again = sent ? request.clone() : null;
  const response = await fetch(request);
  if (response.status !== 401 || !sent || !again) return response;
  const renewed = await renewAfterRefusal(sent);
  if (!renewed) {
    forget();
    return response;
  }
  again.headers.set("Authorization", `Bearer ${renewed}`);
  const second = await fetch(again);
  if (second.status === 401) forget();
  return second;
}

export const api = createApiClient({ baseUrl: API, fetch: fetchRenewing });

api.use({
  async onRequest({ request }) {
    const token = await currentToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
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
