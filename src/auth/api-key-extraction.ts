import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../common/gateway-error';
import { looksLikeJwt } from '../tenancy/api-key-secrets';

/** Longer than any key the gateway issues or a client could mean; refused before hashing. */
const MAX_KEY_LENGTH = 256;

/** The one query parameter that carries a key, spelled exactly so (no percent-encoded variant). */
const QUERY_KEY = 'apiKey=';

/**
 * The key of a request [compat]: header `api-key`, else query `apiKey`, else a non-JWT Bearer
 * token. The query parameter is read from the raw URL and only under its exact name: `api%4Bey`
 * decodes to `apiKey` for a query parser but is no key here (the log redaction, which decodes
 * names, cannot disagree with what authenticates).
 */
export function extractApiKey(request: Pick<FastifyRequest, 'headers' | 'url'>): string | undefined {
  const header = request.headers['api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const query = queryApiKey(request.url);
  if (query !== undefined && query.length > 0) return query;
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^Bearer /i.test(authorization)) {
    const token = authorization.slice(7).trim();
    if (token.length > 0 && !looksLikeJwt(token)) return token;
  }
  return undefined;
}

/** The value of the first query parameter named exactly `apiKey`, decoded; undefined when absent or malformed. */
export function queryApiKey(url: string): string | undefined {
  const start = url.indexOf('?');
  if (start < 0 || !url.includes(QUERY_KEY, start)) return undefined;
  for (const pair of url.slice(start + 1).split('&')) {
    if (!pair.startsWith(QUERY_KEY)) continue;
    try {
      return decodeURIComponent(pair.slice(QUERY_KEY.length).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * {@link extractApiKey} when it could authenticate: undefined for none or an absurdly long one, so
 * such a key is never hashed nor remembered by a connection.
 */
export function usableApiKey(request: Pick<FastifyRequest, 'headers' | 'url'>): string | undefined {
  const key = extractApiKey(request);
  return key !== undefined && key.length <= MAX_KEY_LENGTH ? key : undefined;
}

/** {@link usableApiKey}, or 401 `API_KEY_MISSING` when there is none (or an absurdly long one). */
export function requireApiKey(request: Pick<FastifyRequest, 'headers' | 'url'>): string {
  const key = usableApiKey(request);
  if (key === undefined) {
    throw new GatewayError('API_KEY_MISSING', 'An API key is required (header api-key)');
  }
  return key;
}
