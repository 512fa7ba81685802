import type { InstanceRecord } from './instance-record';
import { StoredInstanceRecord } from './stored-record';

const at = new Date(Date.UTC(2026, 0, 1));
const plain: InstanceRecord = {
  id: 'f'.repeat(32),
  projectId: 'a'.repeat(32),
  userId: null,
  apiIdentifier: 'gpt-4o',
  apiType: 'MODEL',
  businessId: 'biz-1',
  routingParams: { weight: 3, breaker: { consecutiveFailures: 2 } },
  metadata: { owner: 'team-a' },
  endpoint: null,
  status: 'ACTIVE',
  createdAt: at,
  updatedAt: at,
};

describe('StoredInstanceRecord', () => {
  it('has the keys of a plain record, in order, and equals it', () => {
    const stored = StoredInstanceRecord.of(plain);
    expect(Object.keys(stored)).toEqual(Object.keys(plain));
    expect(stored).toEqual(plain);
    expect(JSON.parse(JSON.stringify(stored))).toEqual(JSON.parse(JSON.stringify(plain)));
    expect({ ...stored }).toEqual(plain);
  });

  it('parses its JSON once, on first read, frozen', () => {
    const stored = new StoredInstanceRecord(plain, '{"weight":3}', '{"owner":"team-a"}');
    const params = stored.routingParams;
    expect(params).toEqual({ weight: 3 });
    expect(stored.routingParams).toBe(params);
    expect(stored.metadata).toBe(stored.metadata);
    expect(Object.isFrozen(stored) && Object.isFrozen(params) && Object.isFrozen(stored.metadata)).toBe(true);
    expect(() => {
      (stored as { apiIdentifier: string }).apiIdentifier = 'x';
    }).toThrow(TypeError);
  });

  it('keeps a copy: changes to the record it was made from do not leak in', () => {
    const given = { ...plain, routingParams: { weight: 1 }, metadata: { region: 'eu' } };
    const stored = StoredInstanceRecord.of(given);
    given.routingParams.weight = 99;
    given.metadata.region = 'us';
    expect(stored.routingParams).toEqual({ weight: 1 });
    expect(stored.metadata).toEqual({ region: 'eu' });
  });

  it('no metadata is null, whether absent or stored as the JSON text null', () => {
    expect(new StoredInstanceRecord(plain, '{}', null).metadata).toBeNull();
    expect(new StoredInstanceRecord(plain, '{}', 'null').metadata).toBeNull();
  });

  it('gives its JSON text without parsing it, and reuses itself', () => {
    const stored = new StoredInstanceRecord(plain, '{"weight":3}', null);
    expect(StoredInstanceRecord.jsonOf(stored)).toEqual({ routingParams: '{"weight":3}', metadata: null });
    expect(StoredInstanceRecord.jsonOf(plain)).toEqual({
      routingParams: JSON.stringify(plain.routingParams),
      metadata: '{"owner":"team-a"}',
    });
    expect(StoredInstanceRecord.of(stored)).toBe(stored);
  });
});
