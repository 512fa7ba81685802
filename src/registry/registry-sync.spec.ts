import type { Repository } from 'typeorm';
import { MemoryEventBus } from '../state/event-bus';
import type { ApiInstanceEntity } from './entities/api-instance.entity';
import { toRecord } from './instance-mapping';
import { RegistryIndex } from './registry-index';
import type { RegistryLoader } from './registry-loader';
import { RegistrySync } from './registry-sync';

const P = 'a'.repeat(32);
const at = new Date(Date.UTC(2026, 0, 1));

function row(n: number): ApiInstanceEntity {
  return {
    id: n.toString(16).padStart(32, '0'),
    projectId: P,
    userId: null,
    apiIdentifier: 'gpt-4o',
    apiType: 'MODEL',
    businessId: `biz-${n}`,
    routingParamsJson: '{}',
    metadataJson: null,
    endpoint: null,
    status: 'ACTIVE',
    createdAt: at,
    updatedAt: at,
  };
}

/** The database as a table of rows; the loader reads a snapshot of it when told to. */
function setup() {
  const table = new Map<string, ApiInstanceEntity>();
  const index = new RegistryIndex();
  const events = new MemoryEventBus();
  let finishLoad: (() => void) | undefined;
  const loader = {
    load: async () => {
      const snapshot = [...table.values()];
      await new Promise<void>((resolve) => (finishLoad = resolve));
      index.replaceAll(snapshot.map(toRecord));
    },
  } as unknown as RegistryLoader;
  const repository = {
    find: ({ where }: { where: { id: { value: string[] } } }) =>
      Promise.resolve(where.id.value.map((id) => table.get(id)).filter((r) => r !== undefined)),
  } as unknown as Repository<ApiInstanceEntity>;
  const sync = new RegistrySync(repository, index, loader, events);
  sync.onModuleInit();
  return { table, index, events, sync, finish: () => finishLoad?.() };
}

describe('RegistrySync (cluster mode: the index follows other nodes)', () => {
  it('reads the rows another node announces, and drops those it deleted', async () => {
    const t = setup();
    const a = row(1);
    t.table.set(a.id, a);
    t.events.deliverRemote({ type: 'instances.changed', projectId: P, instanceIds: [a.id] });
    await t.sync.settled();
    expect(t.index.get(a.id)?.businessId).toBe('biz-1');
    t.events.deliverRemote({ type: 'instances.deleted', projectId: P, instanceIds: [a.id] });
    await t.sync.settled();
    expect(t.index.get(a.id)).toBeUndefined();
  });

  it("ignores this node's own events (its index is already up to date)", async () => {
    const t = setup();
    const a = row(1);
    t.table.set(a.id, a);
    t.events.publish({ type: 'instances.changed', projectId: P, instanceIds: [a.id] });
    await t.sync.settled();
    expect(t.index.get(a.id)).toBeUndefined();
  });

  it('keeps a write this node made while a resync was reading an older snapshot', async () => {
    const t = setup();
    t.events.deliver({ type: 'state.resync' });
    await new Promise((resolve) => setImmediate(resolve)); // the load has taken its snapshot
    const created = row(2);
    t.table.set(created.id, created); // committed here, after the snapshot
    t.index.upsert(toRecord(created));
    t.events.publish({ type: 'instances.changed', projectId: P, instanceIds: [created.id] });
    t.finish();
    await t.sync.settled();
    await t.sync.settled();
    expect(t.index.get(created.id)?.businessId).toBe('biz-2');
  });
});
