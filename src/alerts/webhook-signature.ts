import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a webhook secret starts with, so a leaked one is recognisable. */
export const SECRET_PREFIX = 'whsec_';
/** Characters of the secret shown in listings (`whsec_` and 6 more). */
const SHOWN = SECRET_PREFIX.length + 6;

/** A new webhook secret: `whsec_` and 32 random bytes in hex (64 characters). */
export function newWebhookSecret(): { secret: string; prefix: string } {
  const secret = `${SECRET_PREFIX}${randomBytes(32).toString('hex')}`;
  return { secret, prefix: secret.slice(0, SHOWN) };
}

/**
 * `X-Gateway-Signature` of a delivery: `sha256=` and the hex HMAC-SHA256, keyed with the webhook's
 * secret (its UTF-8 bytes, `whsec_` included), of `<X-Gateway-Timestamp>.<raw body>`.
 *
 * @example
 * const timestamp = String(Math.floor(Date.now() / 1000));
 * headers['x-gateway-signature'] = signWebhook(secret, timestamp, body);
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Whether `signature` is the one {@link signWebhook} makes, compared in constant time — what a
 * receiver does (docs/alerts.md); the gateway uses it in its tests.
 */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
