// One WebSocket for live updates: subscriptions by channel, reconnecting with backoff and resuming
// each channel from the last event applied (docs/realtime.md). Missed events are replayed by the
// server; when it cannot (`recovered: false`), the channel's views are told to reload.
import { isEvent, parseServerFrame } from "../../clients/typescript/src/index.ts";
import type { EventFrame, Presence, ServerFrame, Typing } from "../../clients/typescript/src/index.ts";
import { api } from "./api.ts";
import { isSignedIn } from "./auth.ts";
import { WS_URL } from "./config.ts";

export type LiveState = "connecting…" | "live" | "reconnecting…";

interface Subscriber {
  /** Each event of the channel, once, in order. */
  event(frame: EventFrame): void;
  /** Events were missed and cannot be replayed: read the channel's state again. */
  stale(): void;
  /** The server ended the subscription: you left or were removed, or the group was deleted. */
  ended?(reason: string): void;
  /** Someone else's typing or presence on the channel (not numbered, not replayed). */
  ephemeral?(frame: Typing | Presence): void;
}

interface Position {
  epoch: string;
  seq: number;
}

class Live {
  private socket: WebSocket | null = null;
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly positions = new Map<string, Position>();
  private readonly subscribed = new Set<string>();
  private readonly stateListeners = new Set<(state: LiveState) => void>();
  private state: LiveState = "connecting…";
  private failures = 0;
  private shutdownDelay: number | null = null;
  private nextId = 0;
  private timer: number | undefined;
  private stopped = true;

  /** Follow `channel` (`group:<id>`, `user:<id>`) until the returned function is called. */
  subscribe(channel: string, subscriber: Subscriber): () => void {
    let set = this.subscribers.get(channel);
    if (!set) {
      set = new Set();
      this.subscribers.set(channel, set);
      this.sendSubscribe(channel);
    }
    set.add(subscriber);
    this.publishState();
    return () => {
      set.delete(subscriber);
      if (set.size === 0) {
        this.subscribers.delete(channel);
        this.subscribed.delete(channel);
        this.positions.delete(channel);
        this.send({ type: "unsubscribe", channel });
      }
      this.publishState();
    };
  }

  /** Tell the channel's other subscribers that I am typing (the server drops more than 1/s). */
  typing(channel: string): void {
    if (this.subscribed.has(channel)) this.send({ type: "typing", channel });
  }

  onState(listener: (state: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close(1000);
    this.socket = null;
    this.subscribers.clear();
    this.positions.clear();
    this.subscribed.clear();
  }

  private async connect(): Promise<void> {
    if (this.stopped || !isSignedIn()) return;
    let ticket: string;
    try {
      const { data } = await api.POST("/api/ws/ticket");
      if (!data) throw new Error("no ticket");
      ticket = data.ticket;
    } catch {
      this.retry();
      return;
    }
    if (this.stopped) return;
    const socket = new WebSocket(`${WS_URL}?ticket=${encodeURIComponent(ticket)}`);
    this.socket = socket;
    socket.onmessage = ({ data }) => {
      if (typeof data === "string") this.handle(parseServerFrame(data));
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.subscribed.clear();
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    this.setState("reconnecting…");
    // After a `shutdown` frame: when the server said; otherwise exponential backoff with jitter.
    const backoff = Math.min(30_000, 500 * 2 ** this.failures) * (0.5 + Math.random() / 2);
    const delay = this.shutdownDelay ?? backoff;
    this.shutdownDelay = null;
    this.failures += 1;
    this.timer = window.setTimeout(() => void this.connect(), delay);
  }

  private handle(frame: ServerFrame): void {
    if (frame.type === "welcome") {
      this.failures = 0;
      for (const channel of this.subscribers.keys()) this.sendSubscribe(channel);
      this.publishState();
      return;
    }
    if (frame.type === "reply") {
      if (frame.ok && "channel" in frame && "epoch" in frame && typeof frame.epoch === "string") {
        const channel = frame.channel as string;
        if (!this.subscribers.has(channel)) return;
        const known = this.positions.has(channel);
        // On `recovered: true` the missed events follow, each moving the position on.
        if (frame.recovered !== true) this.positions.set(channel, { epoch: frame.epoch, seq: frame.seq as number });
        this.subscribed.add(channel);
        if (known && frame.recovered === false) this.notify(channel, (s) => s.stale());
        this.publishState();
      }
      return;
    }
    if (frame.type === "resubscribe") {
      this.subscribed.delete(frame.channel);
      this.sendSubscribe(frame.channel);
      return;
    }
    if (frame.type === "unsubscribed") {
      const ending = [...(this.subscribers.get(frame.channel) ?? [])];
      this.subscribers.delete(frame.channel);
      this.subscribed.delete(frame.channel);
      this.positions.delete(frame.channel);
      for (const subscriber of ending) subscriber.ended?.(frame.reason);
      this.publishState();
      return;
    }
    if (frame.type === "typing" || frame.type === "presence") {
      this.notify(frame.channel, (s) => s.ephemeral?.(frame));
      return;
    }
    if (frame.type === "shutdown") {
      this.shutdownDelay = frame.reconnect_after_ms;
      return;
    }
    if (isEvent(frame)) {
      const at = this.positions.get(frame.channel);
      if (at && at.epoch === frame.epoch && frame.seq <= at.seq) return; // replayed twice
      this.positions.set(frame.channel, { epoch: frame.epoch, seq: frame.seq });
      this.notify(frame.channel, (s) => s.event(frame));
    }
  }

  private notify(channel: string, call: (subscriber: Subscriber) => void): void {
    for (const subscriber of [...(this.subscribers.get(channel) ?? [])]) call(subscriber);
  }

  private sendSubscribe(channel: string): void {
    const at = this.positions.get(channel);
    this.send({ type: "subscribe", channel, id: ++this.nextId, ...(at ?? {}) });
  }

  private send(command: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(command));
  }

  private setState(state: LiveState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  /** Live once connected and every wanted channel is subscribed. */
  private publishState(): void {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const all = [...this.subscribers.keys()].every((channel) => this.subscribed.has(channel));
    this.setState(all ? "live" : "connecting…");
  }
}

export const live = new Live();
