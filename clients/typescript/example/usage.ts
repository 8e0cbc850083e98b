// A small use of the client, type-checked by the test suite (tests/clients/test_typescript.py):
// if the API's types change in a way that breaks it, the suite says so.
import { commandText, createApiClient, isEvent, parseServerFrame, type Expense, type NewExpense } from "../src/index.ts";

const api = createApiClient({ baseUrl: "http://localhost:5000", token: () => "a-token" });

export async function addDinner(groupId: string): Promise<Expense | undefined> {
  const body: NewExpense = {
    description: "Dinner",
    amount: "60.00",
    split: { kind: "shares", shares: { u_ana: 2, u_ben: 1 } },
  };
  const { data, error } = await api.POST("/api/groups/{group_id}/expenses", {
    params: { path: { group_id: groupId }, header: { "Idempotency-Key": "dinner-1" } },
    body,
  });
  if (error) {
    console.warn(error.error.code, error.error.message);
    return undefined;
  }
  return data;
}

export async function whoIsOwed(groupId: string): Promise<string[]> {
  const { data } = await api.GET("/api/groups/{group_id}/balances", { params: { path: { group_id: groupId } } });
  return (data?.balances ?? []).filter((b) => !b.amount.startsWith("-")).map((b) => data?.users[b.user_id]?.name ?? b.user_id);
}

export function follow(socket: WebSocket, groupId: string, onExpense: (expense: Expense) => void): void {
  socket.addEventListener("open", () => socket.send(commandText({ id: 1, type: "subscribe", channel: `group:${groupId}` })));
  socket.addEventListener("message", (message: MessageEvent<string>) => {
    const frame = parseServerFrame(message.data);
    if (!isEvent(frame)) return;
    switch (frame.type) {
      case "expense.created":
      case "expense.updated": {
        const { balance_moves, ...expense } = frame.data;
        console.info(`${balance_moves.length} balances moved`);
        onExpense(expense);
        break;
      }
      case "expense.deleted":
        console.info(`expense ${frame.data.id} deleted by ${frame.data.deleted_by}`);
        break;
    }
  });
}
