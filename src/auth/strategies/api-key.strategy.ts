import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { GatewayError } from '../../common/gateway-error';
import { looksLikeJwt } from '../../tenancy/api-key-secrets';
import { ApiKeyAuthenticator } from '../../tenancy/api-key-authenticator';
import type { ProjectPrincipal } from '../../tenancy/principal';

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

@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  constructor(private readonly authenticator: ApiKeyAuthenticator) {
    super();
  }

  validate(request: FastifyRequest): Promise<ProjectPrincipal> {
    const key = extractApiKey(request);
    if (key === undefined || key.length > 256) {
      throw new GatewayError('API_KEY_MISSING', 'An API key is required (header api-key)');
    }
    return this.authenticator.authenticate(key);
  }
}
