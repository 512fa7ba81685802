import { Logger } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { FakeClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { newId } from '../common/ids';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { MemoryEventBus } from '../state/event-bus';
import { ApiKeyAuthenticator, KEYS_PER_CONNECTION, type KeyHashMemo, newKeyHashMemo } from './api-key-authenticator';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key-secrets';
import { ApiKeyEntity, type ApiKeyStatus } from './entities/api-key.entity';
import { ProjectEntity } from './entities/project.entity';
import type { ProjectSettings } from './project-settings';

const T0 = Date.UTC(2026, 0, 1, 12);
const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * The API-key authenticator against a real database (SQLite in memory, the project's migrations):
 * what each key is answered, what is served from memory and for how long, how changes announced
 * on the event bus are applied at once, and how `last_used_at` is written behind.
 */
describe('ApiKeyAuthenticator', () => {
  let dataSource: DataSource;
  let keysRepo: Repository<ApiKeyEntity>;
  let projectsRepo: Repository<ProjectEntity>;
  let running: ApiKeyAuthenticator[] = [];

  beforeAll(async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: '', GATEWAY_SQLITE_PATH: ':memory:' });
    dataSource = await new DataSource(dataSourceOptions(config.database, [ApiKeyEntity, ProjectEntity])).initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    keysRepo = dataSource.getRepository(ApiKeyEntity);
    projectsRepo = dataSource.getRepository(ProjectEntity);
  });

  afterAll(async () => {
    await dataSource?.destroy();
  });

  beforeEach(async () => {
    await dataSource.query('DELETE FROM api_keys');
    await dataSource.query('DELETE FROM projects');
  });

  afterEach(async () => {
    for (const authenticator of running) await authenticator.onApplicationShutdown();
    running = [];
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  async function project(fields: Partial<ProjectEntity> = {}): Promise<ProjectEntity> {
    return projectsRepo.save({
      id: newId(),
      name: 'project',
      description: null,
      status: 'ACTIVE',
      settings: {},
      ...fields,
    });
  }

  /** A key row; `secret` is what a client would send. */
  async function apiKey(fields: Partial<ApiKeyEntity> = {}, secret = generateApiKey()) {
    const row = await keysRepo.save({
      id: newId(),
      keyHash: hashApiKey(secret),
      prefix: displayPrefix(secret),
      description: null,
      status: 'ACTIVE',
      scopes: null,
      projectId: null,
      expiresAt: null,
      lastUsedAt: null,
      ...fields,
    });
    return { secret, row };
  }

  /** An ACTIVE key of a new ACTIVE project. */
  async function activeKey(
    fields: Partial<ApiKeyEntity> = {},
    { settings = {}, secret }: { settings?: ProjectSettings; secret?: string } = {},
  ) {
    const owner = await project({ settings });
    return apiKey({ projectId: owner.id, ...fields }, secret);
  }

  async function lastUsedAt(keyId: string): Promise<Date | null> {
    return (await dataSource.manager.findOneByOrFail(ApiKeyEntity, { id: keyId })).lastUsedAt;
  }

  function setup() {
    const clock = new FakeClock(T0);
    const events = new MemoryEventBus();
    const readKey = keysRepo.findOne.bind(keysRepo);
    const keyReads = jest.spyOn(keysRepo, 'findOne');
    const projectReads = jest.spyOn(projectsRepo, 'findOne');
    const updates = jest.spyOn(keysRepo, 'update');
    const authenticator = new ApiKeyAuthenticator(keysRepo, projectsRepo, events, clock);
    authenticator.onModuleInit();
    running.push(authenticator);
    /** Database reads so far (keys and projects). */
    const reads = () => keyReads.mock.calls.length + projectReads.mock.calls.length;
    /** Runs `action` while the next key read is in flight, as a change made by another request would. */
    const duringNextKeyRead = (action: () => void) =>
      keyReads.mockImplementationOnce((options) => {
        action();
        return readKey(options);
      });
    return { clock, events, authenticator, reads, keyReads, updates, duringNextKeyRead };
  }

  async function expectRefused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
    await expect(promise).rejects.toBeInstanceOf(GatewayError);
    await expect(promise).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  }

  describe('who a key is', () => {
    it('authenticates an ACTIVE key of an ACTIVE project as that project, with its settings and every scope', async () => {
      // Another project and key first in the tables: the authenticator must read the right rows.
      const neighbour = await project({ settings: { defaultStrategy: 'neighbour' } });
      await apiKey({ projectId: neighbour.id });
      const owner = await project({ settings: { defaultStrategy: 'round-robin' } });
      const { secret, row } = await apiKey({ projectId: owner.id });
      const { authenticator } = setup();

      await expect(authenticator.authenticate(secret)).resolves.toEqual({
        kind: 'project',
        projectId: owner.id,
        keyId: row.id,
        keyPrefix: displayPrefix(secret),
        scopes: null,
        settings: { defaultStrategy: 'round-robin' },
      });
    });

    it('gives a key with listed scopes exactly those scopes', async () => {
      const { secret } = await activeKey({ scopes: ['select', 'report'] });
      const { authenticator } = setup();

      const principal = await authenticator.authenticate(secret);

      expect(principal.scopes).toEqual(new Set(['select', 'report']));
    });

    it('tells two keys apart', async () => {
      const first = await activeKey();
      const second = await activeKey();
      const { authenticator } = setup();

      expect((await authenticator.authenticate(first.secret)).keyId).toBe(first.row.id);
      expect((await authenticator.authenticate(second.secret)).keyId).toBe(second.row.id);
    });
  });

  describe('refusals', () => {
    it('refuses a key nobody issued with INVALID_API_KEY', async () => {
      await activeKey();
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(generateApiKey()), 'INVALID_API_KEY', /invalid api key/i);
    });

    it('refuses a revoked key with API_KEY_REVOKED', async () => {
      const { secret } = await activeKey({ status: 'REVOKED' });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'API_KEY_REVOKED', /revoked/);
    });

    it('refuses a key marked EXPIRED with API_KEY_EXPIRED', async () => {
      const { secret } = await activeKey({ status: 'EXPIRED' });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'API_KEY_EXPIRED', /expired/);
    });

    it('refuses a key not yet bound to a project with API_KEY_NOT_BOUND, saying how to bind it', async () => {
      const { secret } = await apiKey({ status: 'UNUSED' });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'API_KEY_NOT_BOUND', /not bound.*POST \/api\/projects/);
    });

    it('refuses an ACTIVE key without a project with API_KEY_NOT_BOUND', async () => {
      const { secret } = await apiKey({ status: 'ACTIVE', projectId: null });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'API_KEY_NOT_BOUND', /not bound/);
    });

    it('refuses a key of an inactive project with PROJECT_INACTIVE', async () => {
      const owner = await project({ status: 'INACTIVE' });
      const { secret } = await apiKey({ projectId: owner.id });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'PROJECT_INACTIVE', /inactive/);
    });

    it('refuses a key whose status it does not know as invalid, naming the status', async () => {
      const { secret } = await activeKey({ status: 'SUSPENDED' as ApiKeyStatus });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'INVALID_API_KEY', /SUSPENDED/);
    });

    it('accepts an ACTIVE key until the millisecond it expires, then refuses it with API_KEY_EXPIRED', async () => {
      const { secret, row } = await activeKey({ expiresAt: new Date(T0 + 1) });
      const { authenticator, clock } = setup();

      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ keyId: row.id });
      clock.advance(1);
      await expectRefused(authenticator.authenticate(secret), 'API_KEY_EXPIRED', /expired/);
    });

    it('refuses an ACTIVE key whose expiry is exactly now', async () => {
      const { secret } = await activeKey({ expiresAt: new Date(T0) });
      const { authenticator } = setup();

      await expectRefused(authenticator.authenticate(secret), 'API_KEY_EXPIRED', /expired/);
    });
  });

  describe('refusal(): why a key would be refused', () => {
    it('gives the status and project of a key that authenticates, and no code', async () => {
      const { secret, row } = await activeKey();
      const { authenticator } = setup();

      expect(await authenticator.refusal(secret)).toStrictEqual({ status: 'ACTIVE', projectId: row.projectId });
    });

    it('gives the code, status and project of a refused key', async () => {
      const revoked = await activeKey({ status: 'REVOKED' });
      const unbound = await apiKey({ status: 'UNUSED' });
      const { authenticator } = setup();

      expect(await authenticator.refusal(revoked.secret)).toStrictEqual({
        code: 'API_KEY_REVOKED',
        status: 'REVOKED',
        projectId: revoked.row.projectId,
      });
      expect(await authenticator.refusal(unbound.secret)).toStrictEqual({
        code: 'API_KEY_NOT_BOUND',
        status: 'UNUSED',
        projectId: null,
      });
    });

    it('gives INVALID_API_KEY and no status for a key nobody issued', async () => {
      const { authenticator } = setup();

      expect(await authenticator.refusal(generateApiKey())).toStrictEqual({
        code: 'INVALID_API_KEY',
        status: undefined,
        projectId: undefined,
      });
    });

    it('answers from memory for a key already read, and does not count as a use of the key', async () => {
      const { secret, row } = await activeKey();
      const { authenticator, reads, updates } = setup();
      await authenticator.refusal(secret);
      const before = reads();

      expect(await authenticator.refusal(secret)).toStrictEqual({ status: 'ACTIVE', projectId: row.projectId });
      expect(reads()).toBe(before);
      await authenticator.flushLastUsed();
      expect(updates).not.toHaveBeenCalled();
    });
  });

  describe('requireScope', () => {
    it('lets a key without listed scopes do everything', async () => {
      const { secret } = await activeKey({ scopes: null });
      const { authenticator } = setup();
      const principal = await authenticator.authenticate(secret);

      for (const scope of ['select', 'report', 'registry:write', 'read'] as const) {
        expect(() => authenticator.requireScope(principal, scope)).not.toThrow();
      }
    });

    it('lets a key with listed scopes do those only, refusing others with INSUFFICIENT_SCOPE', async () => {
      const { secret } = await activeKey({ scopes: ['select', 'report'] });
      const { authenticator } = setup();
      const principal = await authenticator.authenticate(secret);

      expect(() => authenticator.requireScope(principal, 'select')).not.toThrow();
      expect(() => authenticator.requireScope(principal, 'report')).not.toThrow();
      expect(() => authenticator.requireScope(principal, 'registry:write')).toThrow(
        expect.objectContaining({ code: 'INSUFFICIENT_SCOPE', message: expect.stringContaining("'registry:write'") }),
      );
    });
  });

  describe('memory', () => {
    it('reads a key and its project once, then serves every key it has read without the database', async () => {
      const first = await activeKey();
      const second = await activeKey();
      const { authenticator, reads } = setup();
      await authenticator.authenticate(first.secret);
      await authenticator.authenticate(second.secret);
      expect(reads()).toBe(4);

      await expect(authenticator.authenticate(first.secret)).resolves.toMatchObject({ keyId: first.row.id });
      await expect(authenticator.authenticate(second.secret)).resolves.toMatchObject({ keyId: second.row.id });
      expect(reads()).toBe(4);
    });

    it('remembers an unknown key for 5 s, then reads it again and finds it if it was created meanwhile', async () => {
      const { authenticator, clock, reads } = setup();
      const secret = generateApiKey();
      await expectRefused(authenticator.authenticate(secret), 'INVALID_API_KEY', /invalid/i);
      expect(reads()).toBe(1);

      clock.advance(5 * SECOND - 1);
      await expectRefused(authenticator.authenticate(secret), 'INVALID_API_KEY', /invalid/i);
      expect(reads()).toBe(1);

      const { row } = await activeKey({}, { secret });
      clock.advance(1);
      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ keyId: row.id });
    });

    it('remembers at most 10 000 unknown keys, forgetting the oldest first', async () => {
      const { authenticator, keyReads } = setup();
      const secrets = Array.from({ length: 10_001 }, (_, i) => `gw_unknown_${i}`);
      for (const secret of secrets) await authenticator.refusal(secret);
      expect(keyReads).toHaveBeenCalledTimes(10_001);

      await authenticator.refusal(secrets[10_000]);
      await authenticator.refusal(secrets[1]);
      expect(keyReads).toHaveBeenCalledTimes(10_001);
      await authenticator.refusal(secrets[0]);
      expect(keyReads).toHaveBeenCalledTimes(10_002);
    });
  });

  describe('changes announced on the event bus', () => {
    it('applies a key change on the very next request, keeping other keys in memory', async () => {
      const changed = await activeKey();
      const other = await activeKey();
      const { authenticator, events, reads } = setup();
      await authenticator.authenticate(changed.secret);
      await authenticator.authenticate(other.secret);
      await keysRepo.update({ id: changed.row.id }, { status: 'REVOKED' });

      events.publish({ type: 'apikey.changed', keyHash: hashApiKey(changed.secret) });

      await expectRefused(authenticator.authenticate(changed.secret), 'API_KEY_REVOKED', /revoked/);
      const before = reads();
      await authenticator.authenticate(other.secret);
      expect(reads()).toBe(before);
    });

    it('finds a key created after it was remembered as unknown as soon as its creation is announced', async () => {
      const { authenticator, events } = setup();
      const secret = generateApiKey();
      await expectRefused(authenticator.authenticate(secret), 'INVALID_API_KEY', /invalid/i);
      const { row } = await activeKey({}, { secret });

      events.publish({ type: 'apikey.changed', keyHash: hashApiKey(secret) });

      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ keyId: row.id });
    });

    it('applies a project change to every key of that project at once, and only to them', async () => {
      const owner = await project({ settings: { defaultStrategy: 'smart' } });
      const first = await apiKey({ projectId: owner.id });
      const second = await apiKey({ projectId: owner.id });
      const other = await activeKey();
      const { authenticator, events, reads } = setup();
      for (const key of [first, second, other]) await authenticator.authenticate(key.secret);
      await projectsRepo.update({ id: owner.id }, { status: 'INACTIVE' });

      events.publish({ type: 'project.changed', projectId: owner.id });

      await expectRefused(authenticator.authenticate(first.secret), 'PROJECT_INACTIVE', /inactive/);
      await expectRefused(authenticator.authenticate(second.secret), 'PROJECT_INACTIVE', /inactive/);
      const before = reads();
      await authenticator.authenticate(other.secret);
      expect(reads()).toBe(before);
    });

    it('serves a project’s new settings as soon as the change is announced', async () => {
      const { secret, row } = await activeKey({}, { settings: { defaultStrategy: 'smart' } });
      const { authenticator, events } = setup();
      await authenticator.authenticate(secret);
      await projectsRepo.update({ id: row.projectId! }, { settings: { defaultStrategy: 'round-robin' } });

      events.publish({ type: 'project.changed', projectId: row.projectId! });

      expect((await authenticator.authenticate(secret)).settings).toEqual({ defaultStrategy: 'round-robin' });
    });

    it('stops accepting the keys of a deleted project once the deletion is announced', async () => {
      const { secret, row } = await activeKey();
      const { authenticator, events } = setup();
      await authenticator.authenticate(secret);
      await keysRepo.delete({ id: row.id });
      await projectsRepo.delete({ id: row.projectId! });

      events.publish({ type: 'project.deleted', projectId: row.projectId! });

      await expectRefused(authenticator.authenticate(secret), 'INVALID_API_KEY', /invalid/i);
    });

    it('forgets everything it knew on a resync, unknown keys included', async () => {
      const known = await activeKey();
      const { authenticator, events } = setup();
      const unknownSecret = generateApiKey();
      await authenticator.authenticate(known.secret);
      await expectRefused(authenticator.authenticate(unknownSecret), 'INVALID_API_KEY', /invalid/i);
      await keysRepo.update({ id: known.row.id }, { status: 'REVOKED' });
      const created = await activeKey({}, { secret: unknownSecret });

      events.publish({ type: 'state.resync' });

      await expectRefused(authenticator.authenticate(known.secret), 'API_KEY_REVOKED', /revoked/);
      await expect(authenticator.authenticate(unknownSecret)).resolves.toMatchObject({ keyId: created.row.id });
    });

    it('takes changes to keys and projects it never read in its stride', async () => {
      const failed = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const { secret } = await activeKey();
      const { authenticator, events } = setup();

      events.publish({ type: 'apikey.changed', keyHash: hashApiKey(generateApiKey()) });
      events.publish({ type: 'project.changed', projectId: newId() });
      events.publish({ type: 'project.deleted', projectId: newId() });

      expect(failed).not.toHaveBeenCalled();
      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ kind: 'project' });
    });

    it('answers a request whose read raced a change from what it read, but keeps none of it', async () => {
      const { secret, row } = await activeKey();
      const { authenticator, events, duringNextKeyRead, reads } = setup();
      duringNextKeyRead(() => events.publish({ type: 'project.changed', projectId: row.projectId! }));

      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ keyId: row.id });
      const before = reads();
      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ keyId: row.id });
      expect(reads()).toBeGreaterThan(before);
      // Read without a race: kept from now on.
      const after = reads();
      await authenticator.authenticate(secret);
      expect(reads()).toBe(after);
    });

    it('does not remember as unknown a key whose read raced its creation', async () => {
      const secret = generateApiKey();
      const { authenticator, events, duringNextKeyRead } = setup();
      duringNextKeyRead(() => events.publish({ type: 'apikey.changed', keyHash: hashApiKey(secret) }));

      await expectRefused(authenticator.authenticate(secret), 'INVALID_API_KEY', /invalid/i);
      const { row } = await activeKey({}, { secret });
      await expect(authenticator.authenticate(secret)).resolves.toMatchObject({ keyId: row.id });
    });
  });

  describe('the per-connection memo', () => {
    it('keeps the key a connection presented and its hash', async () => {
      const { secret } = await activeKey();
      const { authenticator } = setup();
      const memo = newKeyHashMemo();

      await authenticator.authenticate(secret, memo);

      expect(memo).toEqual({ secrets: [secret], hashes: [hashApiKey(secret)] });
    });

    it('uses the remembered hash when the connection presents the same key again', async () => {
      const presented = await activeKey();
      const remembered = await activeKey();
      const { authenticator } = setup();
      // The memo says the presented secret hashes to the other key's hash: only the memo can lead there.
      const memo: KeyHashMemo = { secrets: [presented.secret], hashes: [hashApiKey(remembered.secret)] };

      await expect(authenticator.authenticate(presented.secret, memo)).resolves.toMatchObject({
        keyId: remembered.row.id,
      });
    });

    it('hashes and remembers a different key presented on the same connection, most recent first', async () => {
      const before = await activeKey();
      const after = await activeKey();
      const { authenticator } = setup();
      const memo = newKeyHashMemo();
      await authenticator.authenticate(before.secret, memo);

      await expect(authenticator.authenticate(after.secret, memo)).resolves.toMatchObject({ keyId: after.row.id });
      expect(memo).toEqual({
        secrets: [after.secret, before.secret],
        hashes: [hashApiKey(after.secret), hashApiKey(before.secret)],
      });
    });

    it('remembers the keys a connection presents in turn, up to KEYS_PER_CONNECTION', async () => {
      const keys = await Promise.all(Array.from({ length: KEYS_PER_CONNECTION }, () => activeKey()));
      const { authenticator } = setup();
      const memo = newKeyHashMemo();
      for (const key of keys) await authenticator.authenticate(key.secret, memo);
      // Each remembered key now says it hashes to the next key's hash: only the memo can lead there.
      const next = (secret: string) => keys[(keys.findIndex((key) => key.secret === secret) + 1) % keys.length];
      memo.secrets.forEach((secret, at) => (memo.hashes[at] = hashApiKey(next(secret).secret)));

      for (const key of keys) {
        await expect(authenticator.authenticate(key.secret, memo)).resolves.toMatchObject({
          keyId: next(key.secret).row.id,
        });
      }
    });

    it('forgets the least recent key when one more is presented', async () => {
      const keys = await Promise.all(Array.from({ length: KEYS_PER_CONNECTION + 1 }, () => activeKey()));
      const { authenticator } = setup();
      const memo = newKeyHashMemo();

      for (const key of keys) await authenticator.authenticate(key.secret, memo);

      expect(memo.secrets).toHaveLength(KEYS_PER_CONNECTION);
      expect(memo.secrets).not.toContain(keys[0].secret);
      expect(memo.secrets[0]).toBe(keys[KEYS_PER_CONNECTION].secret);
      expect(memo.hashes).toEqual(memo.secrets.map((secret) => hashApiKey(secret)));
    });
  });

  describe('last use of a key', () => {
    it('writes when a key was used on flush', async () => {
      const { secret, row } = await activeKey();
      const { authenticator, clock } = setup();
      clock.advance(1234);

      await authenticator.authenticate(secret);
      expect(await lastUsedAt(row.id)).toBeNull();
      await authenticator.flushLastUsed();

      expect(await lastUsedAt(row.id)).toEqual(new Date(T0 + 1234));
    });

    it('writes each key its own time, keys used in the same millisecond together', async () => {
      const first = await activeKey();
      const second = await activeKey();
      const third = await activeKey();
      const { authenticator, clock, updates } = setup();
      await authenticator.authenticate(first.secret);
      await authenticator.authenticate(second.secret);
      clock.advance(SECOND);
      await authenticator.authenticate(third.secret);

      await authenticator.flushLastUsed();

      expect(updates).toHaveBeenCalledTimes(2);
      expect(await lastUsedAt(first.row.id)).toEqual(new Date(T0));
      expect(await lastUsedAt(second.row.id)).toEqual(new Date(T0));
      expect(await lastUsedAt(third.row.id)).toEqual(new Date(T0 + SECOND));
    });

    it('writes a key’s use at most once a minute', async () => {
      const { secret, row } = await activeKey();
      const { authenticator, clock, updates } = setup();
      await authenticator.authenticate(secret);
      await authenticator.flushLastUsed();

      clock.advance(MINUTE - 1);
      await authenticator.authenticate(secret);
      await authenticator.flushLastUsed();
      expect(updates).toHaveBeenCalledTimes(1);
      expect(await lastUsedAt(row.id)).toEqual(new Date(T0));

      clock.advance(1);
      await authenticator.authenticate(secret);
      await authenticator.flushLastUsed();
      expect(await lastUsedAt(row.id)).toEqual(new Date(T0 + MINUTE));
    });

    it('does not touch the database when no key was used', async () => {
      const { authenticator, updates } = setup();

      await authenticator.flushLastUsed();

      expect(updates).not.toHaveBeenCalled();
    });

    it('does not record a refused request as a use', async () => {
      const { secret } = await activeKey({ status: 'REVOKED' });
      const { authenticator, updates } = setup();
      await expectRefused(authenticator.authenticate(secret), 'API_KEY_REVOKED', /revoked/);

      await authenticator.flushLastUsed();

      expect(updates).not.toHaveBeenCalled();
    });

    it('keeps the times a failed write could not record, logs a warning, and writes them on the next flush', async () => {
      const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { secret, row } = await activeKey();
      const { authenticator, updates } = setup();
      await authenticator.authenticate(secret);
      const failure = new Error('database is locked');
      updates.mockRejectedValueOnce(failure);

      await authenticator.flushLastUsed();
      expect(await lastUsedAt(row.id)).toBeNull();
      expect(warned).toHaveBeenCalledWith({ err: failure, keys: 1 }, expect.stringMatching(/last use/));
      expect(warned.mock.contexts[0]).toMatchObject({ context: 'ApiKeyAuthenticator' });

      await authenticator.flushLastUsed();
      expect(await lastUsedAt(row.id)).toEqual(new Date(T0));
    });

    it('does not let a failed write’s older time replace a use recorded meanwhile', async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { secret, row } = await activeKey();
      const { authenticator, clock, updates } = setup();
      await authenticator.authenticate(secret);
      updates.mockImplementationOnce(async () => {
        clock.advance(MINUTE);
        await authenticator.authenticate(secret);
        throw new Error('database is locked');
      });

      await authenticator.flushLastUsed();
      await authenticator.flushLastUsed();

      expect(await lastUsedAt(row.id)).toEqual(new Date(T0 + MINUTE));
    });

    it('writes pending uses every 10 s on its own', async () => {
      jest.useFakeTimers({
        doNotFake: [
          'Date',
          'hrtime',
          'nextTick',
          'performance',
          'queueMicrotask',
          'setImmediate',
          'clearImmediate',
          'setTimeout',
          'clearTimeout',
        ],
      });
      const { secret, row } = await activeKey();
      const { authenticator, updates } = setup();
      await authenticator.authenticate(secret);

      jest.advanceTimersByTime(10 * SECOND - 1);
      expect(updates).not.toHaveBeenCalled();
      jest.advanceTimersByTime(1);
      expect(updates).toHaveBeenCalledTimes(1);
      await updates.mock.results[0].value;

      expect(await lastUsedAt(row.id)).toEqual(new Date(T0));
    });

    it('writes pending uses when the application shuts down', async () => {
      const { secret, row } = await activeKey();
      const { authenticator } = setup();
      await authenticator.authenticate(secret);

      await authenticator.onApplicationShutdown();

      expect(await lastUsedAt(row.id)).toEqual(new Date(T0));
    });
  });
});
