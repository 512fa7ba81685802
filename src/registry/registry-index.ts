import { Injectable } from '@nestjs/common';
import type { ApiType, InstanceRecord } from './instance-record';
import { StoredInstanceRecord } from './stored-record';

/** What select-instance asks the index for. */
export interface CandidateQuery {
  readonly projectId: string;
  readonly apiType: ApiType;
  /** Matched against both `apiIdentifier` and `businessId`. */
  readonly identifier: string;
  /** When given, only instances reserved for exactly this user are returned. */
  readonly userId?: string;
}

/** The ACTIVE instances one identifier reaches within one (project, apiType). */
interface KeyEntry {
  /** By id, so an instance whose apiIdentifier and businessId are equal is held once. */
  readonly members: Map<string, InstanceRecord>;
  /** Frozen, id-ordered view of `members`; null until asked for and after every write. */
  view: readonly InstanceRecord[] | null;
}

interface ProjectShard {
  /** Every record of the project, whatever its status. */
  readonly records: Map<string, InstanceRecord>;
  /** ACTIVE records only, apiType → identifier → entry. */
  readonly lookup: Map<ApiType, Map<string, KeyEntry>>;
}

const EMPTY: readonly InstanceRecord[] = Object.freeze([]);

/**
 * In-memory index of API instances that serves select-instance without touching the database.
 * The database stays the source of truth: the owner warms it with {@link replaceAll} at start-up
 * and mirrors every committed write with {@link upsert} / {@link remove} / {@link removeProject}.
 *
 * Lookups go through nested Maps (project → apiType → identifier) rather than one composite
 * string key: building and hashing a concatenated key on each call measured about 2.5× slower.
 *
 * @example
 * const index = new RegistryIndex();
 * index.replaceAll(await loadAllInstances());
 * const candidates = index.candidates({ projectId, apiType: 'MODEL', identifier: 'gpt-4o' });
 */
@Injectable()
export class RegistryIndex {
  private byId = new Map<string, InstanceRecord>();
  private projects = new Map<string, ProjectShard>();

  /** Number of instances held, whatever their status. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * Rebuilds the whole index from `records` (later duplicates of an id win). Built aside and
   * swapped in, so a source that throws half-way leaves the previous index serving.
   */
  replaceAll(records: Iterable<InstanceRecord>): void {
    const next = new RegistryIndex();
    for (const record of records) next.upsert(record);
    this.byId = next.byId;
    this.projects = next.projects;
  }

  /**
   * Inserts or replaces by id; the previous version leaves every bucket it was in. What is kept is
   * a frozen {@link StoredInstanceRecord} (the record itself when it already is one): callers keep
   * their own objects (often ORM entities) mutable and unretained, every stored record shares one
   * shape, which keeps the property reads in the lookup path monomorphic, and its JSON stays text
   * until read.
   */
  upsert(record: InstanceRecord): void {
    const stored = StoredInstanceRecord.of(record);
    this.remove(stored.id);
    this.byId.set(stored.id, stored);
    let shard = this.projects.get(stored.projectId);
    if (shard === undefined) {
      shard = { records: new Map(), lookup: new Map() };
      this.projects.set(stored.projectId, shard);
    }
    shard.records.set(stored.id, stored);
    if (stored.status === 'ACTIVE') link(shard, stored);
  }

  remove(id: string): void {
    const old = this.byId.get(id);
    if (old === undefined) return;
    this.byId.delete(id);
    const shard = this.projects.get(old.projectId);
    if (shard === undefined) return;
    shard.records.delete(id);
    if (old.status === 'ACTIVE') unlink(shard, old);
    if (shard.records.size === 0) this.projects.delete(old.projectId);
  }

  /** Drops every instance of the project, e.g. after the project itself was deleted. */
  removeProject(projectId: string): void {
    const shard = this.projects.get(projectId);
    if (shard === undefined) return;
    for (const id of shard.records.keys()) this.byId.delete(id);
    this.projects.delete(projectId);
  }

  get(id: string): InstanceRecord | undefined {
    return this.byId.get(id);
  }

  /**
   * ACTIVE instances of the project and apiType whose apiIdentifier or businessId equals
   * `identifier`, each once, ordered by id. Ordered by id rather than by arrival so that every
   * node of a cluster, however it was warmed, hands strategies the same sequence.
   *
   * Without `userId` the result is a shared frozen array, rebuilt only after a write touched
   * that identifier: callers must not hold on to it expecting updates, and cannot mutate it.
   */
  candidates(query: CandidateQuery): readonly InstanceRecord[] {
    const entry = this.projects.get(query.projectId)?.lookup.get(query.apiType)?.get(query.identifier);
    if (entry === undefined) return EMPTY;
    const active = entry.view ?? (entry.view = Object.freeze([...entry.members.values()].sort(byId)));
    return query.userId === undefined ? active : forUser(active, query.userId);
  }

  /** Every instance of every project, whatever its status, in no particular order. Not for the hot path. */
  all(): IterableIterator<InstanceRecord> {
    return this.byId.values();
  }

  /** All instances of the project, whatever their status, ordered by id. Not for the hot path. */
  listByProject(projectId: string): readonly InstanceRecord[] {
    const shard = this.projects.get(projectId);
    return shard === undefined ? EMPTY : [...shard.records.values()].sort(byId);
  }
}

function link(shard: ProjectShard, record: InstanceRecord): void {
  let keys = shard.lookup.get(record.apiType);
  if (keys === undefined) {
    keys = new Map();
    shard.lookup.set(record.apiType, keys);
  }
  attach(keys, record.apiIdentifier, record);
  // Stryker disable next-line ConditionalExpression: members are keyed by id, so attaching to the same key twice holds the record once, as here
  if (record.businessId !== record.apiIdentifier) attach(keys, record.businessId, record);
}

function unlink(shard: ProjectShard, record: InstanceRecord): void {
  const keys = shard.lookup.get(record.apiType);
  if (keys === undefined) return;
  detach(keys, record.apiIdentifier, record.id);
  // Stryker disable next-line ConditionalExpression: detaching from the same key twice is a no-op the second time (the id is already gone)
  if (record.businessId !== record.apiIdentifier) detach(keys, record.businessId, record.id);
  if (keys.size === 0) shard.lookup.delete(record.apiType);
}

function attach(keys: Map<string, KeyEntry>, key: string, record: InstanceRecord): void {
  const entry = keys.get(key);
  if (entry === undefined) {
    keys.set(key, { members: new Map([[record.id, record]]), view: null });
    return;
  }
  entry.members.set(record.id, record);
  entry.view = null;
}

function detach(keys: Map<string, KeyEntry>, key: string, id: string): void {
  const entry = keys.get(key);
  if (entry === undefined || !entry.members.delete(id)) return;
  // Empty entries are dropped so churn in businessIds does not leak memory.
  if (entry.members.size === 0) keys.delete(key);
  else entry.view = null;
}

/** An indexed loop: on Node 20, filter() and for-of over a frozen array measured several times slower. */
function forUser(active: readonly InstanceRecord[], userId: string): readonly InstanceRecord[] {
  let mine: InstanceRecord[] | null = null;
  for (let i = 0; i < active.length; i++) {
    if (active[i].userId === userId) (mine ??= []).push(active[i]);
  }
  return mine ?? EMPTY;
}

function byId(a: InstanceRecord, b: InstanceRecord): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: ids are unique within every sorted list, and V8's sort only asks whether the result is negative, so the tie and `a > b` answers are never told apart
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
