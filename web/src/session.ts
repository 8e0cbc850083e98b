// Who is signed in (GET /api/user), shared by the pages.
import type { Schemas } from "../../clients/typescript/src/index.ts";
import { api, ok } from "./api.ts";
import { isSignedIn } from "./auth.ts";

export type User = Schemas["User"];

let me: User | null = null;

/** The signed-in user, read once per page load (null when signed out). */
export async function currentUser(): Promise<User | null> {
  if (!isSignedIn()) return (me = null);
  if (!me) me = ok(await api.GET("/api/user"));
  return me;
}

export function clearUser(): void {
  me = null;
}
