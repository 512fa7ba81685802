import { randomFillSync, randomUUID } from 'node:crypto';

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

const RANDOM_ID_BYTES = 16;
const RANDOM_POOL = Buffer.allocUnsafe(RANDOM_ID_BYTES * 256);
let randomOffset = RANDOM_POOL.length;

/**
 * 128 random bits as 32 lowercase hex characters, like {@link newId}, drawn from a pooled CSPRNG
 * buffer (as the uuid package does) for ids made per request (selection ids, request ids): one
 * `randomUUID().replace()` or `randomBytes` call costs several µs, a pooled draw under one.
 */
export function newRandomId(): string {
  if (randomOffset >= RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    randomOffset = 0;
  }
  const id = RANDOM_POOL.toString('hex', randomOffset, randomOffset + RANDOM_ID_BYTES);
  randomOffset += RANDOM_ID_BYTES;
  return id;
}
