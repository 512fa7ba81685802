import { createHash } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { newRandomId } from '../common/ids';
import type { LeaseDirectory, LeaseIdFacts, RelayedLease, RelayedLeaseClose } from '../state/lease-directory';
import { ClusterBus } from './cluster-bus';

/** This node's open-lease counts that changed in one turn: `[instanceId, open]` pairs. */
const COUNTS = 'lease.counts';
/** All of a node's open-lease counts (`[instanceId, open]`, open > 0), every {@link FULL_COUNT_MS}. */
const ALL_COUNTS = 'lease.all';
/** A report's close for the node holding the lease. */
const CLOSE = 'lease.close';

/**
 * A count that changes after this long without a publish goes out at once, before the caller has
 * its answer (a caller may ask another node next); busier changes ride the end of the turn.
 */
const URGENT_EVERY_MS = 1;

/** How often each node sends all its counts: a lost message or a restarted node is corrected within this. */
export const FULL_COUNT_MS = 1000;

/** Marker digit of a cluster selectionId: `8` a lease, `9` a half-open probe. */
const LEASE = '8';
const PROBE = '9';
const TAG_HEX = 4;
const EXPIRY_HEX = 11;
const MAX_EXPIRY = 16 ** EXPIRY_HEX - 1;
const CLUSTER_ID = /^[0-9a-f]{4}[89][0-9a-f]{27}$/;

/** A close as sent on the bus; `to` names the node when the report had no selectionId. */
interface CloseMessage extends RelayedLeaseClose {
  readonly to?: string;
}

/** What this node knows of another. */
interface Peer {
  readonly tag: string;
  /** Its open leases per instance (> 0 only). */
  counts: Map<string, number>;
}

/**
 * The counts changed in one turn, as `[instanceId, open]` pairs once serialised. Sent to the bus
 * when the first one changes and filled until the bus serialises it (or the turn ends, when the
 * bus had nothing to serialise it for): later changes start a new batch.
 */
class CountBatch {
  readonly counts = new Map<string, number>();
  sealed = false;

  constructor() {
    // Serialised or not (the bus drops its outbox while Redis is down), a batch takes no change
    // after its turn: either way later changes go in a new batch.
    setImmediate(() => (this.sealed = true));
  }

  toJSON(): [string, number][] {
    this.sealed = true;
    return [...this.counts];
  }
}

const PROBE_UNKNOWN: RelayedLease = Object.freeze({ probeExpiresAt: undefined });

/**
 * The node tag of a selectionId: the first four hex digits of SHA-256 of the node id. Two live
 * nodes may share one (1 in 65,536 per pair): the directory notices and relays its own tag too.
 */
export function nodeTag(nodeId: string): string {
  return createHash('sha256').update(nodeId).digest('hex').slice(0, TAG_HEX);
}

/**
 * A selectionId made in cluster mode: still 32 lowercase hex characters (the AgentX contract), laid
 * out as `tttt m eeeeeeeeeee rrrrrrrrrrrrrrrr` — the opening node's tag, a marker (`8` lease,
 * `9` half-open probe), the lease's expiry (epoch ms, 11 hex digits: until the year 2527) and 64
 * random bits (unique per node: a lease is found by id on its node only).
 *
 * @example
 * const id = encodeSelectionId('3fa2', { probe: true, expiresAt: 1_767_225_660_000 });
 * decodeSelectionId(id); // { tag: '3fa2', probe: true, expiresAt: 1767225660000 }
 */
export function encodeSelectionId(tag: string, lease: LeaseIdFacts): string {
  const expiry = Math.max(0, Math.min(Math.floor(lease.expiresAt), MAX_EXPIRY));
  return (
    tag +
    (lease.probe ? PROBE : LEASE) +
    expiry.toString(16).padStart(EXPIRY_HEX, '0') +
    newRandomId().slice(TAG_HEX + 1 + EXPIRY_HEX)
  );
}

/** What a cluster selectionId carries, or undefined when it is not one. */
export function decodeSelectionId(
  selectionId: string,
): { readonly tag: string; readonly probe: boolean; readonly expiresAt: number } | undefined {
  if (!CLUSTER_ID.test(selectionId)) return undefined;
  return {
    tag: selectionId.slice(0, TAG_HEX),
    probe: selectionId[TAG_HEX] === PROBE,
    expiresAt: parseInt(selectionId.slice(TAG_HEX + 1, TAG_HEX + 1 + EXPIRY_HEX), 16),
  };
}

/**
 * The {@link LeaseDirectory} of cluster mode, over the {@link ClusterBus} (nothing is stored in
 * Redis: a lease lives on the node that opened it, and dies with it).
 *
 * - **Ids**: a selectionId names the node that opened it ({@link encodeSelectionId}), and a
 *   probe's carries its expiry, so the node a report reaches can apply all of it (statistics,
 *   breaker and its probe slot, cool-down) and relay only the close.
 * - **Closes**: a report whose lease is not here goes to its holder — by selectionId to the node
 *   with its tag, without one (the reference protocol) to the node holding the most open leases of
 *   the instance, which closes the newest opened by the call's time, else the oldest. The holder
 *   frees the slot and settles the tokens.
 * - **Counts**: each node's open leases per instance are sent as they change — at once when none
 *   went out in the last millisecond (before the caller has its answer: it may ask another node
 *   next), else with the turn's other messages; absolute values, so a lost message is harmless
 *   once the next arrives — and all of them every second, so a lost message heals and a
 *   restarted node's counts are replaced; a node not heard from for 3.5 s is forgotten. The sum
 *   over the other nodes is pushed to the `onRemoteOpen` listeners.
 *
 * Stale by one bus hop (a publish and its delivery, ~1 ms): two nodes deciding within it may both
 * grant the last concurrency slot. While Redis is down every node counts its own leases only.
 */
@Injectable()
export class ClusterLeaseDirectory implements LeaseDirectory, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Leases');
  readonly tag: string;
  /** This node's open leases per instance (> 0 only). */
  private readonly local = new Map<string, number>();
  /** Counts changed in this turn: already in the bus's outbox, serialised when the bus flushes. */
  private changed: CountBatch | undefined;
  /** Epoch ms of the last count published at once. */
  private urgentAt = 0;
  private readonly peers = new Map<string, Peer>();
  /** Sum over the peers, per instance (> 0 only). */
  private readonly remote = new Map<string, number>();
  private readonly closeHandlers = new Set<(close: RelayedLeaseClose) => void>();
  private readonly remoteListeners = new Set<(instanceId: string, open: number) => void>();
  private readonly stops: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private twinWarned = false;

  constructor(private readonly bus: ClusterBus) {
    this.tag = nodeTag(bus.nodeId);
  }

  onModuleInit(): void {
    this.stops.push(
      this.bus.on(COUNTS, (data, from) => this.receiveCounts(from, data, false)),
      this.bus.on(ALL_COUNTS, (data, from) => this.receiveCounts(from, data, true)),
      this.bus.on(CLOSE, (data) => this.receiveClose(data)),
      // Another node missed messages: it hears every count again at once rather than within a second.
      this.bus.onResync(() => this.sendAll()),
    );
    this.timer = setInterval(() => this.tick(), FULL_COUNT_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    // Leaving: the others stop counting this node's leases now rather than after its silence.
    this.local.clear();
    this.sendAll();
  }

  newSelectionId(lease: LeaseIdFacts): string {
    return encodeSelectionId(this.tag, lease);
  }

  relayClose(close: RelayedLeaseClose): RelayedLease | undefined {
    if (close.selectionId !== undefined) {
      const facts = decodeSelectionId(close.selectionId);
      if (facts === undefined || !this.mayHold(facts.tag)) return undefined;
      this.bus.send(CLOSE, close);
      return facts.probe ? { probeExpiresAt: facts.expiresAt } : PROBE_UNKNOWN;
    }
    const holder = this.busiestHolder(close.instanceId);
    if (holder === undefined) return undefined;
    const message: CloseMessage = { ...close, to: holder };
    this.bus.send(CLOSE, message);
    return PROBE_UNKNOWN;
  }

  onRelayedClose(handler: (close: RelayedLeaseClose) => void): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  publishOpen(instanceId: string, open: number): void {
    if (open > 0) this.local.set(instanceId, open);
    else this.local.delete(instanceId);
    let batch = this.changed;
    if (batch === undefined || batch.sealed) {
      // One batch per turn, handed to the bus at once: it goes out with the bus's own flush (one
      // hop, no extra turn: another node must count the lease before the caller can ask it).
      this.changed = batch = new CountBatch();
      this.bus.send(COUNTS, batch);
    }
    batch.counts.set(instanceId, open > 0 ? open : 0);
    const now = Date.now();
    if (now - this.urgentAt >= URGENT_EVERY_MS) {
      this.urgentAt = now;
      this.bus.sendNow();
    }
  }

  onRemoteOpen(listener: (instanceId: string, open: number) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  /** Open leases of the instance held by the other nodes. */
  remoteOpen(instanceId: string): number {
    return this.remote.get(instanceId) ?? 0;
  }

  /** Whether a live node other than this one may have made ids with `tag`. */
  private mayHold(tag: string): boolean {
    for (const peer of this.peers.values()) if (peer.tag === tag) return true;
    return false;
  }

  /** The other node holding the most open leases of the instance, if any holds one. */
  private busiestHolder(instanceId: string): string | undefined {
    let best: string | undefined;
    let most = 0;
    for (const [node, peer] of this.peers) {
      const open = peer.counts.get(instanceId) ?? 0;
      if (open > most) {
        most = open;
        best = node;
      }
    }
    return best;
  }

  private sendAll(): void {
    // A change after this snapshot must follow it, not ride in an earlier batch.
    if (this.changed !== undefined) this.changed.sealed = true;
    this.bus.send(ALL_COUNTS, [...this.local]);
  }

  /** Every second: all counts out, and nodes gone silent forgotten. */
  private tick(): void {
    this.sendAll();
    const alive = new Set(this.bus.otherNodes());
    for (const [node, peer] of this.peers) {
      if (alive.has(node)) continue;
      this.peers.delete(node);
      for (const [instanceId, open] of peer.counts) this.adjust(instanceId, -open);
    }
  }

  private receiveCounts(from: string, data: unknown, all: boolean): void {
    if (!Array.isArray(data)) return;
    const peer = this.peerOf(from);
    const before = peer.counts;
    if (all) peer.counts = new Map();
    for (const pair of data as unknown[]) {
      // A count is a whole number of leases: anything else (Infinity, 1e300, -1) would wedge maxConcurrency.
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || !Number.isSafeInteger(pair[1]) || pair[1] < 0) {
        continue;
      }
      const [instanceId, open] = pair as [string, number];
      const was = all ? (before.get(instanceId) ?? 0) : (peer.counts.get(instanceId) ?? 0);
      if (open > 0) peer.counts.set(instanceId, open);
      else peer.counts.delete(instanceId);
      this.adjust(instanceId, (open > 0 ? open : 0) - was);
    }
    if (!all) return;
    for (const [instanceId, was] of before) if (!peer.counts.has(instanceId)) this.adjust(instanceId, -was);
  }

  private peerOf(node: string): Peer {
    let peer = this.peers.get(node);
    if (peer === undefined) {
      peer = { tag: nodeTag(node), counts: new Map() };
      this.peers.set(node, peer);
      if (peer.tag === this.tag && !this.twinWarned) {
        this.twinWarned = true;
        this.logger.warn(
          `Nodes ${this.bus.nodeId} and ${node} share the selectionId tag ${this.tag}: both try its closes`,
        );
      }
    }
    return peer;
  }

  /** The other nodes' open leases of an instance changed by `delta`: the sum, and the listeners. */
  private adjust(instanceId: string, delta: number): void {
    if (delta === 0) return;
    const open = Math.max(0, (this.remote.get(instanceId) ?? 0) + delta);
    if (open > 0) this.remote.set(instanceId, open);
    else this.remote.delete(instanceId);
    for (const listener of this.remoteListeners) {
      try {
        listener(instanceId, open);
      } catch (error) {
        this.logger.error({ err: error }, 'A remote lease count listener failed');
      }
    }
  }

  private receiveClose(data: unknown): void {
    if (!isClose(data)) return;
    if (
      data.to !== undefined ? data.to !== this.bus.nodeId : decodeSelectionId(data.selectionId ?? '')?.tag !== this.tag
    ) {
      return;
    }
    const close: RelayedLeaseClose = {
      projectId: data.projectId,
      instanceId: data.instanceId,
      selectionId: data.selectionId,
      callStartedAt: data.callStartedAt,
      usedTokens: data.usedTokens,
    };
    for (const handler of this.closeHandlers) {
      try {
        handler(close);
      } catch (error) {
        this.logger.error({ err: error }, 'A relayed lease close failed');
      }
    }
  }
}

function isClose(data: unknown): data is CloseMessage {
  if (typeof data !== 'object' || data === null) return false;
  const close = data as Record<string, unknown>;
  const optional = (key: string, type: 'string' | 'number'): boolean =>
    close[key] === undefined || typeof close[key] === type;
  return (
    typeof close.projectId === 'string' &&
    typeof close.instanceId === 'string' &&
    optional('selectionId', 'string') &&
    optional('callStartedAt', 'number') &&
    optional('usedTokens', 'number') &&
    optional('to', 'string')
  );
}
