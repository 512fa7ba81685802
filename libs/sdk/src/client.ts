import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/schema';

export interface GatewayApiOptions {
  /** The gateway's origin, e.g. `http://localhost:8081` (paths already start with `/api`). */
  readonly baseUrl: string;
  /** A project API key, sent as the `api-key` header. */
  readonly apiKey?: string;
  /** An admin JWT, sent as `Authorization: Bearer …`. */
  readonly accessToken?: string;
  readonly fetch?: typeof fetch;
}

/** A typed HTTP client for every route of the gateway, generated from `openapi.json`. */
export type GatewayApi = Client<paths>;

/**
 * Creates a typed client. Every call returns `{ data, error, response }`, where `data` is the
 * success envelope and `error` the error envelope.
 *
 * @example
 * const api = createGatewayApi({ baseUrl: 'http://localhost:8081', apiKey: process.env.GATEWAY_KEY });
 * const { data } = await api.GET('/api/health');
 * console.log(data?.data.status); // "UP"
 */
export function createGatewayApi(options: GatewayApiOptions): GatewayApi {
  const headers: Record<string, string> = {};
  if (options.apiKey) headers['api-key'] = options.apiKey;
  if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
  return createClient<paths>({ baseUrl: options.baseUrl, headers, fetch: options.fetch });
}
