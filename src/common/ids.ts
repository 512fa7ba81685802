import { randomUUID } from 'node:crypto';

/** A new id: 32 lowercase hex characters (a UUID v4 without dashes), like the reference's. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

export const ID_PATTERN = /^[0-9a-f]{32}$/;

let orderedSeq = 0;

/**
 * An id that sorts in creation order among ids of the same millisecond `at` made by this process:
 * 12 hex digits of `at`, 8 of a process counter, 12 random. Still 32 lowercase hex characters; for
 * logs whose rows share a timestamp (a breaker can open and turn half-open in one millisecond).
 */
export function newOrderedId(at: number): string {
  orderedSeq = (orderedSeq + 1) % 0x1_0000_0000;
  const time = Math.max(0, Math.min(Math.floor(at), 0xffff_ffff_ffff))
    .toString(16)
    .padStart(12, '0');
  return time + orderedSeq.toString(16).padStart(8, '0') + randomUUID().replace(/-/g, '').slice(0, 12);
}
