import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_LENGTH = 40;

/** A new key: `gw_` + 40 base62 characters (~238 bits), from the OS's CSPRNG without modulo bias. */
export function generateApiKey(): string {
  let out = 'gw_';
  while (out.length < 3 + SECRET_LENGTH) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 × 62: rejecting bytes above it keeps every character equally likely.
      if (byte < 248 && out.length < 3 + SECRET_LENGTH) out += BASE62[byte % 62];
    }
  }
  return out;
}

/**
 * SHA-256 of the key, hex. Keys are long random secrets, so a fast hash is the right one. The
 * one-shot `crypto.hash` takes half the time of a `createHash` object (it runs on every request
 * whose connection last sent another key).
 */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What people see of a key: its first characters, enough to recognise it, useless to attack it. */
export function displayPrefix(key: string): string {
  return key.startsWith('gw_') ? key.slice(0, 9) : key.slice(0, 6);
}

/** A JWT (three base64url segments) is never taken for an API key. */
export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}
