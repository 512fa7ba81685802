import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { Clock, InjectClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { EventBus, InjectEventBus } from '../state/event-bus';
import { hashApiKey, sameHash } from './api-key-secrets';
import { ApiKeyEntity, type ApiKeyScope, type ApiKeyStatus } from './entities/api-key.entity';
import { ProjectEntity, type ProjectStatus } from './entities/project.entity';
import type { ProjectPrincipal } from './principal';

/** What the cache keeps of a key: enough to decide without the database. */
interface KeyState {
  readonly keyHash: string;
  readonly principal: ProjectPrincipal;
  readonly status: ApiKeyStatus;
  readonly projectId: string | null;
  readonly projectStatus: ProjectStatus | null;
  readonly expiresAt: number | null;
}

/**
 * The last keys a connection presented and their hashes, most recent first. A keep-alive client
 * sends the same key on every request, or a few keys in turn (a platform serving several
 * projects over pooled connections); remembering their SHA-256 per connection spares ~4 µs per
 * request. Every request is still decided from the key's current state, so a revoke applies at
 * once. Only a byte-identical key reuses a hash, and the connection's own client is the one that
 * sent it.
 */
export interface KeyHashMemo {
  readonly secrets: string[];
  readonly hashes: string[];
}

/** Keys a connection's memo holds: a client rotating through more of them hashes on every request, as without a memo. */
export const KEYS_PER_CONNECTION = 8;

export function newKeyHashMemo(): KeyHashMemo {
  return { secrets: [], hashes: [] };
}

const NEGATIVE_TTL_MS = 5_000;
const MAX_POSITIVE = 100_000;
const MAX_NEGATIVE = 10_000;
const LAST_USED_INTERVAL_MS = 60_000;

/**
 * Authenticates API keys from memory. The first request with a key reads it (and its project)
 * once; later ones touch no database. Entries are dropped the moment a key or project changes
 * (events on the EventBus); unknown keys are remembered for a few seconds so a flood of bad keys
 * cannot turn into a flood of queries. `last_used_at` is written behind, at most once a minute.
 */
@Injectable()
export class ApiKeyAuthenticator implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ApiKeyAuthenticator');
  private readonly known = new Map<string, KeyState>();
  private readonly unknown = new Map<string, number>();
  private readonly byProject = new Map<string, Set<string>>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly lastUsedPending = new Map<string, number>();
  private flushTimer?: NodeJS.Timeout;
  /** Bumped by every forget: a load that raced one must not cache what it read. */
  private generation = 0;

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectRepository(ProjectEntity) private readonly projects: Repository<ProjectEntity>,
    @InjectEventBus() private readonly events: EventBus,
    @InjectClock() private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.events.subscribe('apikey.changed', (event) => this.forgetKey(event.keyHash));
    this.events.subscribe('project.changed', (event) => this.forgetProject(event.projectId));
    this.events.subscribe('project.deleted', (event) => this.forgetProject(event.projectId));
    // Cluster mode: this node may have missed changes made on others; nothing cached can be trusted.
    this.events.subscribe('state.resync', () => this.forgetAll());
    this.flushTimer = setInterval(() => void this.flushLastUsed(), 10_000);
    this.flushTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }

  /** The principal of a key, or a GatewayError with the documented code. */
  async authenticate(secret: string, memo?: KeyHashMemo): Promise<ProjectPrincipal> {
    return this.authenticateNow(secret, memo);
  }

  /**
   * {@link authenticate} without a promise when the key is cached (every request but a key's
   * first): the principal, or a GatewayError thrown at once. A key not cached yet is loaded:
   * then the answer is a promise.
   */
  authenticateNow(secret: string, memo?: KeyHashMemo): ProjectPrincipal | Promise<ProjectPrincipal> {
    const hash = this.hashOf(secret, memo);
    const now = this.clock.now();
    const state = this.known.get(hash);
    if (state === undefined) return this.load(hash, now).then((loaded) => this.admit(loaded, now));
    return this.admit(state, now);
  }

  private admit(state: KeyState | undefined, now: number): ProjectPrincipal {
    const principal = this.decide(state, now);
    this.noteUse(principal.keyId, now);
    return principal;
  }

  /**
   * The project of a key this node already knows to authenticate, without waiting for anything:
   * for refusals decided before a request's body is read. Undefined for an unknown, uncached or
   * refused key (the request then goes the normal way, through {@link authenticate}).
   */
  cachedProjectOf(secret: string, memo?: KeyHashMemo): string | undefined {
    const state = this.known.get(this.hashOf(secret, memo));
    if (state === undefined) return undefined;
    try {
      return this.decide(state, this.clock.now()).projectId;
    } catch {
      return undefined;
    }
  }

  /** The key's hash, from the connection's memo when it holds this key (then no hashing at all). */
  private hashOf(secret: string, memo: KeyHashMemo | undefined): string {
    if (memo === undefined) return hashApiKey(secret);
    const at = memo.secrets.indexOf(secret);
    if (at >= 0) return memo.hashes[at];
    const hash = hashApiKey(secret);
    if (memo.secrets.length >= KEYS_PER_CONNECTION) {
      memo.secrets.pop();
      memo.hashes.pop();
    }
    memo.secrets.unshift(secret);
    memo.hashes.unshift(hash);
    return hash;
  }

  /** Why a key would be refused (the error code), or undefined when it authenticates. */
  async refusal(secret: string): Promise<{ code?: string; status?: ApiKeyStatus; projectId?: string | null }> {
    const hash = hashApiKey(secret);
    const state = this.known.get(hash) ?? (await this.load(hash, this.clock.now()));
    try {
      this.decide(state, this.clock.now());
      return { status: state?.status, projectId: state?.projectId };
    } catch (error) {
      return { code: (error as GatewayError).code, status: state?.status, projectId: state?.projectId };
    }
  }

  requireScope(principal: ProjectPrincipal, scope: ApiKeyScope): void {
    if (principal.scopes && !principal.scopes.has(scope)) {
      throw new GatewayError('INSUFFICIENT_SCOPE', `This API key lacks the '${scope}' scope`);
    }
  }

  private decide(state: KeyState | undefined, now: number): ProjectPrincipal {
    if (!state) throw new GatewayError('INVALID_API_KEY', 'Invalid API key');
    switch (state.status) {
      case 'REVOKED':
        throw new GatewayError('API_KEY_REVOKED', 'This API key has been revoked');
      case 'EXPIRED':
        throw new GatewayError('API_KEY_EXPIRED', 'This API key has expired');
      case 'UNUSED':
        throw new GatewayError('API_KEY_NOT_BOUND', 'This API key is not bound to a project yet (POST /api/projects)');
      case 'ACTIVE':
        break;
      default: {
        const unexpected: never = state.status;
        throw new GatewayError('INVALID_API_KEY', `Unknown key status ${String(unexpected)}`);
      }
    }
    if (state.expiresAt !== null && state.expiresAt <= now) {
      throw new GatewayError('API_KEY_EXPIRED', 'This API key has expired');
    }
    if (!state.projectId) throw new GatewayError('API_KEY_NOT_BOUND', 'This API key is not bound to a project');
    if (state.projectStatus !== 'ACTIVE')
      throw new GatewayError('PROJECT_INACTIVE', 'The project of this API key is inactive');
    return state.principal;
  }

  private async load(hash: string, now: number): Promise<KeyState | undefined> {
    const negativeUntil = this.unknown.get(hash);
    if (negativeUntil !== undefined && negativeUntil > now) return undefined;
    // A change announced while the rows were being read may not be in them: then answer from
    // them this once but cache nothing, so the next request reads again.
    const generation = this.generation;
    const key = await this.keys.findOne({ where: { keyHash: hash } });
    if (!key || !sameHash(key.keyHash, hash)) {
      if (generation === this.generation) this.remember(this.unknown, hash, now + NEGATIVE_TTL_MS, MAX_NEGATIVE);
      return undefined;
    }
    const project = key.projectId ? await this.projects.findOne({ where: { id: key.projectId } }) : null;
    const state = toState(key, project);
    if (generation !== this.generation) return state;
    this.unknown.delete(hash);
    this.remember(this.known, hash, state, MAX_POSITIVE);
    if (state.projectId) {
      const hashes = this.byProject.get(state.projectId) ?? new Set<string>();
      hashes.add(hash);
      this.byProject.set(state.projectId, hashes);
    }
    return state;
  }

  /** Bounded maps: the oldest entry goes first (Map keeps insertion order). */
  private remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
    if (map.size >= max) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, value);
  }

  private forgetKey(hash: string): void {
    this.generation++;
    const state = this.known.get(hash);
    this.known.delete(hash);
    this.unknown.delete(hash);
    if (state?.projectId) this.byProject.get(state.projectId)?.delete(hash);
  }

  private forgetProject(projectId: string): void {
    this.generation++;
    for (const hash of this.byProject.get(projectId) ?? []) this.known.delete(hash);
    this.byProject.delete(projectId);
  }

  private forgetAll(): void {
    this.generation++;
    this.known.clear();
    this.unknown.clear();
    this.byProject.clear();
  }

  private noteUse(keyId: string, now: number): void {
    const written = this.lastUsedWritten.get(keyId);
    if (written !== undefined && now - written < LAST_USED_INTERVAL_MS) return;
    this.lastUsedWritten.set(keyId, now);
    this.lastUsedPending.set(keyId, now);
  }

  /** Writes pending `last_used_at` values; never on the request path. */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsedPending.size === 0) return;
    const pending = [...this.lastUsedPending.entries()];
    this.lastUsedPending.clear();
    const byTime = new Map<number, string[]>();
    for (const [keyId, at] of pending) byTime.set(at, [...(byTime.get(at) ?? []), keyId]);
    try {
      for (const [at, ids] of byTime) await this.keys.update({ id: In(ids) }, { lastUsedAt: new Date(at) });
    } catch (error) {
      this.logger.warn({ err: error, keys: pending.length }, 'Could not record last use of API keys; will retry');
      for (const [keyId, at] of pending) if (!this.lastUsedPending.has(keyId)) this.lastUsedPending.set(keyId, at);
    }
  }
}

function toState(key: ApiKeyEntity, project: ProjectEntity | null): KeyState {
  return {
    keyHash: key.keyHash,
    status: key.status,
    projectId: key.projectId,
    projectStatus: project?.status ?? null,
    expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
    principal: {
      kind: 'project',
      projectId: key.projectId ?? '',
      keyId: key.id,
      keyPrefix: key.prefix,
      scopes: key.scopes ? new Set(key.scopes) : null,
      settings: project?.settings ?? {},
    },
  };
}
