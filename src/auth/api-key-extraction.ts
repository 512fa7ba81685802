import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../common/gateway-error';
import { looksLikeJwt } from '../tenancy/api-key-secrets';

/** Longer than any key the gateway issues or a client could mean; refused before hashing. */
const MAX_KEY_LENGTH = 256;

/** The key of a request [compat]: header `api-key`, else query `apiKey`, else a non-JWT Bearer token. */
export function extractApiKey(request: Pick<FastifyRequest, 'headers' | 'query'>): string | undefined {
  const header = request.headers['api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const query = (request.query as Record<string, unknown> | undefined)?.apiKey;
  if (typeof query === 'string' && query.length > 0) return query;
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^Bearer /i.test(authorization)) {
    const token = authorization.slice(7).trim();
    if (token.length > 0 && !looksLikeJwt(token)) return token;
  }
  return undefined;
}

/** {@link extractApiKey}, or 401 `API_KEY_MISSING` when there is none (or an absurdly long one). */
export function requireApiKey(request: Pick<FastifyRequest, 'headers' | 'query'>): string {
  const key = extractApiKey(request);
  if (key === undefined || key.length > MAX_KEY_LENGTH) {
    throw new GatewayError('API_KEY_MISSING', 'An API key is required (header api-key)');
  }
  return key;
}
