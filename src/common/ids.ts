import { randomUUID } from 'node:crypto';

/** A new id: 32 lowercase hex characters (a UUID v4 without dashes), like the reference's. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

export const ID_PATTERN = /^[0-9a-f]{32}$/;
