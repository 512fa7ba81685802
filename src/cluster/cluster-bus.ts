import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { newRandomId } from '../common/ids';
import { RedisLink } from './redis-link';

/** One publish: every message a node sent in one turn of its event loop. */
interface Envelope {
  /** Sending node. */
  readonly n: string;
  /** The sender's boot (a restarted node starts its sequence again). */
  readonly b: string;
  /** The sender's sequence number of this envelope; a gap means messages were lost. */
  readonly s: number;
  /** [kind, data] pairs in the order they were sent. */
  readonly m: readonly (readonly [string, unknown])[];
}

type Handler = (data: unknown, from: string) => void;

const HEARTBEAT_MS = 1000;
/** A node not heard from for this long has left. */
const NODE_TIMEOUT_MS = 3500;

/**
 * Messages between the nodes of a cluster over one Redis pub/sub channel (`<prefix>bus`). Sending
 * never waits: messages sent in one turn of the event loop go out as one publish. Redis pub/sub
 * delivers at most once, so every envelope carries its sender's sequence number; a receiver that
 * sees a gap, or whose own connection dropped, calls the {@link onResync} listeners, which reload
 * what they share from its source of truth (the database, or Redis) instead of trusting the gap.
 *
 * @example
 * bus.on('lease.close', (data, from) => this.closeRelayed(data as LeaseClose));
 * bus.send('lease.close', { selectionId, projectId });
 */
@Injectable()
export class ClusterBus implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ClusterBus');
  private readonly channel: string;
  private readonly boot = newRandomId();
  private seq = 0;
  private outbox: (readonly [string, unknown])[] = [];
  private flushScheduled = false;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly resyncListeners = new Set<() => void | Promise<void>>();
  /** Per sending node: its boot, the last sequence number seen, when it was last heard. */
  private readonly peers = new Map<string, { boot: string; seq: number; seenAt: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly stops: (() => void)[] = [];
  private resyncs = 0;
  private malformedLoggedAt = 0;

  private readonly onMessage = (channel: string, text: string): void => {
    if (channel === this.channel) this.receive(text);
  };

  constructor(private readonly link: RedisLink) {
    this.channel = link.key('bus');
  }

  get nodeId(): string {
    return this.link.nodeId;
  }

  /** True while this node's Redis connections are up. */
  get connected(): boolean {
    return this.link.connected;
  }

  /** How many times this node resynchronised (gaps and reconnects). */
  get resyncCount(): number {
    return this.resyncs;
  }

  async onModuleInit(): Promise<void> {
    this.link.subscriber.on('message', this.onMessage);
    this.stops.push(
      this.link.onUp(() => {
        // Subscribed again (also when Redis was away at start-up); what was published meanwhile is lost.
        void this.subscribe();
        this.resync('Redis is reachable again');
      }),
    );
    if (this.link.connected) await this.subscribe();
    this.heartbeat = setInterval(() => this.send('node.alive', null), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  onModuleDestroy(): void {
    this.link.subscriber.off('message', this.onMessage);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    for (const stop of this.stops) stop();
    this.flush();
  }

  /** Sends to every other node. Never throws and never waits; lost while Redis is down (receivers resync). */
  send(kind: string, data: unknown): void {
    this.outbox.push([kind, data]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Publishes what is queued now rather than at the end of the turn: for a message the other
   * nodes must have before this node answers its caller (the caller may ask another node next).
   */
  sendNow(): void {
    this.flush();
  }

  /** Messages of `kind` from the other nodes (never this node's own). Returns an unsubscribe. */
  on(kind: string, handler: (data: unknown, from: string) => void): () => void {
    const set = this.handlers.get(kind) ?? new Set<Handler>();
    this.handlers.set(kind, set);
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Called when this node may have missed messages (after a reconnect, or a gap in a sender's
   * sequence): reload shared state from its source of truth. Returns an unsubscribe.
   */
  onResync(listener: () => void | Promise<void>): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** The other nodes heard from in the last few seconds (heartbeats every second). */
  otherNodes(now = Date.now()): string[] {
    const alive: string[] = [];
    for (const [node, peer] of this.peers) if (now - peer.seenAt < NODE_TIMEOUT_MS) alive.push(node);
    return alive;
  }

  /** Every live node, this one included. */
  nodes(now = Date.now()): string[] {
    return [this.nodeId, ...this.otherNodes(now)].sort();
  }

  private subscribe(): Promise<unknown> {
    return this.link.subscriber.subscribe(this.channel).catch(() => undefined);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    const envelope: Envelope = { n: this.nodeId, b: this.boot, s: ++this.seq, m: this.outbox };
    this.outbox = [];
    // A lost publish still used its sequence number: receivers see the gap and resync.
    if (!this.link.connected) return;
    this.link.command.publish(this.channel, JSON.stringify(envelope)).catch(() => undefined);
  }

  private receive(text: string): void {
    const envelope = parseEnvelope(text);
    if (envelope === undefined) {
      this.malformed();
      return;
    }
    if (envelope.n === this.nodeId) return;
    const peer = this.peers.get(envelope.n);
    const now = Date.now();
    if (peer === undefined || peer.boot !== envelope.b) {
      this.peers.set(envelope.n, { boot: envelope.b, seq: envelope.s, seenAt: now });
    } else {
      const gap = envelope.s !== peer.seq + 1;
      peer.seq = envelope.s;
      peer.seenAt = now;
      if (gap) this.resync(`messages from ${envelope.n} were lost`);
    }
    for (const item of envelope.m) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') {
        this.malformed();
        continue;
      }
      const handlers = this.handlers.get(item[0]);
      if (handlers === undefined) continue;
      for (const handler of handlers) {
        try {
          handler(item[1], envelope.n);
        } catch (error) {
          this.logger.error({ err: error, kind: item[0] }, 'A cluster message handler failed');
        }
      }
    }
  }

  /** Logged once a minute at most: whatever publishes garbage on the channel must not flood the log. */
  private malformed(): void {
    const now = Date.now();
    if (now - this.malformedLoggedAt < 60_000) return;
    this.malformedLoggedAt = now;
    this.logger.warn(`Ignored a malformed message on ${this.channel}`);
  }

  private resync(why: string): void {
    this.resyncs++;
    this.logger.warn(`Resynchronising shared state: ${why}`);
    for (const listener of this.resyncListeners) {
      Promise.resolve()
        .then(listener)
        .catch((error: unknown) => this.logger.error({ err: error }, 'A resync listener failed'));
    }
  }
}

/** The envelope, or undefined unless every field has its type (the channel is open to anyone with Redis access). */
function parseEnvelope(text: string): Envelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { n, b, s, m } = value as Record<string, unknown>;
  if (typeof n !== 'string' || typeof b !== 'string' || !Number.isSafeInteger(s) || !Array.isArray(m)) return undefined;
  return value as Envelope;
}
