import { Inject, Injectable } from '@nestjs/common';
import { newRandomId } from '../common/ids';

/**
 * Where the leases of a cluster are (docs/resilience.md §4): which node opened a selection, and
 * how many leases each other node holds per instance. The memory implementation is a single node:
 * every lease is here, ids are plain random ids and nothing is relayed. The cluster one
 * (cluster mode) encodes the opening node in the `selectionId`, relays report closes to it and
 * shares open-lease counts, so `maxConcurrency` and the load the strategies see are cluster-wide.
 * Every method is synchronous; messages between nodes go out behind the caller.
 *
 * @example
 * const selectionId = directory.newSelectionId({ probe: false, expiresAt: now + ttlMs });
 * directory.publishOpen(instanceId, openHere);
 * const relayed = directory.relayClose({ projectId, instanceId, selectionId, usedTokens });
 */
export interface LeaseDirectory {
  /** A fresh `selectionId` (32 lowercase hex characters) for a lease this node opens. */
  newSelectionId(lease: LeaseIdFacts): string;
  /**
   * A report closed no lease here: sends the close to the node holding the lease — by
   * `selectionId` to the node that opened it, without one to the node holding the most open
   * leases of the instance. Returns what the report's node still has to do (release a probe
   * slot), or undefined when no other node can hold the lease (nothing was sent).
   */
  relayClose(close: RelayedLeaseClose): RelayedLease | undefined;
  /** Closes other nodes relayed to this one. Returns an unsubscribe. */
  onRelayedClose(handler: (close: RelayedLeaseClose) => void): () => void;
  /** This node now holds `open` leases of the instance (told the other nodes behind the caller). */
  publishOpen(instanceId: string, open: number): void;
  /** Open leases of an instance held by the other nodes, each time that sum changes. Returns an unsubscribe. */
  onRemoteOpen(listener: (instanceId: string, open: number) => void): () => void;
}

/** What a `selectionId` may carry for the node a report reaches. */
export interface LeaseIdFacts {
  /** Admitted as a half-open probe. */
  readonly probe: boolean;
  /** The lease's expiry, epoch ms (a probe slot is released by it). */
  readonly expiresAt: number;
}

/** A report's lease close, sent to the node holding the lease. */
export interface RelayedLeaseClose {
  readonly projectId: string;
  readonly instanceId: string;
  /** The lease the report named; absent: the reference protocol (by `callStartedAt`, else the oldest). */
  readonly selectionId?: string;
  /** The report's `callTimestamp` when plausible, for a close without `selectionId`. */
  readonly callStartedAt?: number;
  /** Tokens the call used: the holder settles the lease's TPM reservation. */
  readonly usedTokens?: number;
}

/** A close sent to another node: what the report's node knows of that lease. */
export interface RelayedLease {
  /**
   * The lease's expiry when the `selectionId` says it is a half-open probe: the report's node
   * releases the probe slot and the outcome counts as the probe's. Undefined otherwise (not a
   * probe, or unknown because the report had no `selectionId`: the holder then frees the slot).
   */
  readonly probeExpiresAt: number | undefined;
}

/** Injection token of {@link LeaseDirectory}. */
export const LeaseDirectory = Symbol('LeaseDirectory');

export const InjectLeaseDirectory = (): ParameterDecorator => Inject(LeaseDirectory);

const NO_UNSUBSCRIBE = (): void => undefined;

/** One node holds every lease: random ids, nothing to relay or share. */
@Injectable()
export class MemoryLeaseDirectory implements LeaseDirectory {
  newSelectionId(_lease: LeaseIdFacts): string {
    return newRandomId();
  }

  relayClose(_close: RelayedLeaseClose): RelayedLease | undefined {
    return undefined;
  }

  onRelayedClose(_handler: (close: RelayedLeaseClose) => void): () => void {
    return NO_UNSUBSCRIBE;
  }

  publishOpen(_instanceId: string, _open: number): void {
    // Nobody else to tell.
  }

  onRemoteOpen(_listener: (instanceId: string, open: number) => void): () => void {
    return NO_UNSUBSCRIBE;
  }
}
