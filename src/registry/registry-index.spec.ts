import type { InstanceRecord } from './instance-record';
import { RegistryIndex } from './registry-index';

const P1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const P2 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2';
const at = new Date(Date.UTC(2026, 0, 1));

function hexId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

function instance(n: number, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: hexId(n),
    projectId: P1,
    userId: null,
    apiIdentifier: 'gpt-4o',
    apiType: 'MODEL',
    businessId: `biz-${n}`,
    routingParams: { baseUrl: `https://b${n}.example.com` },
    metadata: null,
    endpoint: null,
    status: 'ACTIVE',
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

const ids = (records: readonly InstanceRecord[]): string[] => records.map((record) => record.id);
const gpt = { projectId: P1, apiType: 'MODEL', identifier: 'gpt-4o' } as const;

describe('RegistryIndex', () => {
  let index: RegistryIndex;

  beforeEach(() => {
    index = new RegistryIndex();
  });

  describe('what it keeps of a record', () => {
    it('a frozen copy: later changes to the record given do not leak in, and no metadata stays null', () => {
      const given = instance(1, { metadata: { region: 'eu' } });
      index.upsert(given);
      (given.routingParams as Record<string, unknown>).baseUrl = 'https://changed.example.com';
      (given.metadata as Record<string, unknown>).region = 'us';
      const kept = index.get(given.id)!;
      expect(kept.routingParams).toEqual({ baseUrl: 'https://b1.example.com' });
      expect(kept.metadata).toEqual({ region: 'eu' });
      expect(Object.isFrozen(kept) && Object.isFrozen(kept.routingParams) && Object.isFrozen(kept.metadata)).toBe(true);
      index.upsert(instance(2));
      expect(index.get(hexId(2))!.metadata).toBeNull();
    });
  });

  describe('candidates', () => {
    it('matches on apiIdentifier, ordered by id whatever the insertion order', () => {
      index.replaceAll([instance(3), instance(1), instance(2, { apiIdentifier: 'claude' })]);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1), hexId(3)]);
    });

    it('matches on businessId', () => {
      index.replaceAll([instance(1), instance(2)]);
      expect(ids(index.candidates({ ...gpt, identifier: 'biz-2' }))).toEqual([hexId(2)]);
    });

    it('merges apiIdentifier and businessId matches, listing an instance matching both once', () => {
      index.replaceAll([
        instance(1, { apiIdentifier: 'eu', businessId: 'eu' }),
        instance(2, { apiIdentifier: 'eu' }),
        instance(3, { apiIdentifier: 'other', businessId: 'eu' }),
        instance(4, { apiIdentifier: 'other' }),
      ]);
      expect(ids(index.candidates({ ...gpt, identifier: 'eu' }))).toEqual([hexId(1), hexId(2), hexId(3)]);
    });

    it('keeps only instances of exactly the given user when userId is set', () => {
      index.replaceAll([
        instance(1, { userId: 'alice' }),
        instance(2, { userId: 'bob' }),
        instance(3, { userId: null }),
        instance(4, { userId: 'alice' }),
      ]);
      expect(ids(index.candidates({ ...gpt, userId: 'alice' }))).toEqual([hexId(1), hexId(4)]);
      expect(ids(index.candidates({ ...gpt, userId: 'carol' }))).toEqual([]);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1), hexId(2), hexId(3), hexId(4)]);
    });

    it.each(['INACTIVE', 'DEPRECATED'] as const)('never returns %s instances, by either key', (status) => {
      index.replaceAll([instance(1), instance(2, { status })]);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
      expect(index.candidates({ ...gpt, identifier: 'biz-2' })).toEqual([]);
      expect(index.get(hexId(2))?.status).toBe(status);
    });

    it('keeps projects and apiTypes apart', () => {
      index.replaceAll([instance(1), instance(2, { projectId: P2 }), instance(3, { apiType: 'OTHER' })]);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
      expect(ids(index.candidates({ ...gpt, projectId: P2 }))).toEqual([hexId(2)]);
      expect(ids(index.candidates({ ...gpt, apiType: 'OTHER' }))).toEqual([hexId(3)]);
      expect(index.candidates({ ...gpt, apiType: 'OTHER', identifier: 'biz-1' })).toEqual([]);
      expect(index.candidates({ ...gpt, projectId: P2, identifier: 'biz-1' })).toEqual([]);
    });

    it('returns a frozen array, so one caller cannot corrupt what the next one sees', () => {
      index.upsert(instance(1));
      const result = index.candidates(gpt) as InstanceRecord[];
      expect(() => result.push(instance(2))).toThrow(TypeError);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
    });

    it('returns an empty array for unknown projects, types and identifiers', () => {
      index.upsert(instance(1));
      expect(index.candidates({ ...gpt, projectId: P2 })).toEqual([]);
      expect(index.candidates({ ...gpt, apiType: 'SMS_SERVICE' })).toEqual([]);
      expect(index.candidates({ ...gpt, identifier: 'nope' })).toEqual([]);
    });
  });

  describe('cached candidate arrays', () => {
    it('serves the same array again while nothing touching it was written', () => {
      index.replaceAll([instance(1), instance(2, { apiIdentifier: 'claude' })]);
      const first = index.candidates(gpt);
      index.upsert(instance(2, { apiIdentifier: 'claude', status: 'INACTIVE' }));
      index.upsert(instance(3, { projectId: P2 }));
      expect(index.candidates(gpt)).toBe(first);
    });

    it('hands out a new array after a write and leaves the earlier one as it was', () => {
      index.upsert(instance(1));
      const before = index.candidates(gpt);
      index.upsert(instance(2));
      const after = index.candidates(gpt);
      expect(after).not.toBe(before);
      expect(ids(before)).toEqual([hexId(1)]);
      expect(ids(after)).toEqual([hexId(1), hexId(2)]);
    });

    it('reflects a changed record even when bucket membership is unchanged', () => {
      index.upsert(instance(1));
      const before = index.candidates(gpt);
      index.upsert(instance(1, { routingParams: { baseUrl: 'https://moved.example.com' } }));
      const after = index.candidates(gpt);
      expect(after).not.toBe(before);
      expect(after[0].routingParams).toEqual({ baseUrl: 'https://moved.example.com' });
    });

    it('invalidates the businessId bucket as well as the apiIdentifier one', () => {
      index.upsert(instance(1));
      const byBusinessId = index.candidates({ ...gpt, identifier: 'biz-1' });
      index.upsert(instance(1, { status: 'INACTIVE' }));
      expect(index.candidates({ ...gpt, identifier: 'biz-1' })).toEqual([]);
      expect(ids(byBusinessId)).toEqual([hexId(1)]);
    });

    it('invalidates on remove', () => {
      index.replaceAll([instance(1), instance(2)]);
      const before = index.candidates(gpt);
      index.remove(hexId(1));
      expect(ids(index.candidates(gpt))).toEqual([hexId(2)]);
      expect(ids(before)).toEqual([hexId(1), hexId(2)]);
    });
  });

  describe('upsert', () => {
    it('moves an instance whose apiIdentifier changed out of the old bucket', () => {
      index.upsert(instance(1));
      index.candidates(gpt);
      index.upsert(instance(1, { apiIdentifier: 'claude' }));
      expect(index.candidates(gpt)).toEqual([]);
      expect(ids(index.candidates({ ...gpt, identifier: 'claude' }))).toEqual([hexId(1)]);
      expect(index.size).toBe(1);
    });

    it('moves an instance whose businessId changed out of the old bucket', () => {
      index.upsert(instance(1));
      index.upsert(instance(1, { businessId: 'renamed' }));
      expect(index.candidates({ ...gpt, identifier: 'biz-1' })).toEqual([]);
      expect(ids(index.candidates({ ...gpt, identifier: 'renamed' }))).toEqual([hexId(1)]);
    });

    it('follows status ACTIVE → INACTIVE → ACTIVE', () => {
      index.upsert(instance(1));
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
      index.upsert(instance(1, { status: 'INACTIVE' }));
      expect(index.candidates(gpt)).toEqual([]);
      expect(index.get(hexId(1))?.status).toBe('INACTIVE');
      index.upsert(instance(1, { status: 'ACTIVE' }));
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
    });

    it('applies a changed userId to the user filter', () => {
      index.upsert(instance(1, { userId: 'alice' }));
      index.upsert(instance(1, { userId: 'bob' }));
      expect(index.candidates({ ...gpt, userId: 'alice' })).toEqual([]);
      expect(ids(index.candidates({ ...gpt, userId: 'bob' }))).toEqual([hexId(1)]);
    });

    it('moves an instance whose apiType changed out of the old type', () => {
      index.replaceAll([instance(1, { apiType: 'OTHER' }), instance(2, { apiType: 'OTHER' })]);
      index.upsert(instance(1, { apiType: 'MODEL' }));
      expect(ids(index.candidates({ ...gpt, apiType: 'OTHER' }))).toEqual([hexId(2)]);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
    });

    it('moves an instance between projects and apiTypes if those ever change', () => {
      index.upsert(instance(1));
      index.upsert(instance(1, { projectId: P2, apiType: 'OTHER' }));
      expect(index.candidates(gpt)).toEqual([]);
      expect(index.listByProject(P1)).toEqual([]);
      expect(ids(index.candidates({ ...gpt, projectId: P2, apiType: 'OTHER' }))).toEqual([hexId(1)]);
      expect(ids(index.listByProject(P2))).toEqual([hexId(1)]);
    });

    it('stores a frozen copy, unaffected by later changes to the object passed in', () => {
      const mutable = { ...instance(1), routingParams: { weight: 1 } } as {
        -readonly [K in keyof InstanceRecord]: InstanceRecord[K];
      };
      index.upsert(mutable);
      mutable.apiIdentifier = 'claude';
      (mutable.routingParams as Record<string, unknown>).weight = 99;
      const stored = index.get(hexId(1));
      expect(stored).toMatchObject({ apiIdentifier: 'gpt-4o', routingParams: { weight: 1 } });
      expect(Object.isFrozen(stored)).toBe(true);
      expect(Object.isFrozen(stored?.routingParams)).toBe(true);
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
    });
  });

  describe('remove and removeProject', () => {
    it('removes one instance from get, buckets and listings', () => {
      index.replaceAll([instance(1), instance(2)]);
      index.remove(hexId(1));
      expect(index.get(hexId(1))).toBeUndefined();
      expect(index.candidates({ ...gpt, identifier: 'biz-1' })).toEqual([]);
      expect(ids(index.listByProject(P1))).toEqual([hexId(2)]);
      expect(index.size).toBe(1);
    });

    it('ignores an unknown id', () => {
      index.upsert(instance(1));
      index.remove(hexId(9));
      expect(index.size).toBe(1);
    });

    it('removes every instance of one project and nothing else', () => {
      index.replaceAll([instance(1), instance(2, { status: 'INACTIVE' }), instance(3, { projectId: P2 })]);
      index.removeProject(P1);
      expect(index.get(hexId(1))).toBeUndefined();
      expect(index.get(hexId(2))).toBeUndefined();
      expect(index.candidates(gpt)).toEqual([]);
      expect(index.listByProject(P1)).toEqual([]);
      expect(ids(index.candidates({ ...gpt, projectId: P2 }))).toEqual([hexId(3)]);
      expect(index.size).toBe(1);
    });

    it('lets a removed project be filled again', () => {
      index.upsert(instance(1));
      index.removeProject(P1);
      index.upsert(instance(2));
      expect(ids(index.candidates(gpt))).toEqual([hexId(2)]);
    });
  });

  describe('replaceAll', () => {
    it('forgets everything that was there before', () => {
      index.replaceAll([instance(1), instance(2, { projectId: P2 })]);
      index.candidates(gpt);
      index.replaceAll([instance(3)]);
      expect(index.get(hexId(1))).toBeUndefined();
      expect(index.listByProject(P2)).toEqual([]);
      expect(ids(index.candidates(gpt))).toEqual([hexId(3)]);
      expect(index.size).toBe(1);
    });

    it('keeps the last version of a duplicated id', () => {
      index.replaceAll([instance(1), instance(1, { apiIdentifier: 'claude' })]);
      expect(index.candidates(gpt)).toEqual([]);
      expect(index.size).toBe(1);
    });

    it('leaves the previous index serving when the source fails half-way', () => {
      index.replaceAll([instance(1)]);
      function* failing(): Generator<InstanceRecord> {
        yield instance(2);
        throw new Error('connection lost');
      }
      expect(() => index.replaceAll(failing())).toThrow('connection lost');
      expect(ids(index.candidates(gpt))).toEqual([hexId(1)]);
      expect(index.size).toBe(1);
    });
  });

  describe('get, listByProject and size', () => {
    it('gets a record by id with its fields intact', () => {
      const record = instance(7, { userId: 'alice', metadata: { owner: 'team-a' } });
      index.upsert(record);
      expect(index.get(hexId(7))).toEqual(record);
      expect(index.get(hexId(8))).toBeUndefined();
    });

    it('lists every status of one project, ordered by id, and counts all instances', () => {
      index.replaceAll([
        instance(3, { status: 'DEPRECATED' }),
        instance(1),
        instance(2, { status: 'INACTIVE' }),
        instance(4, { projectId: P2 }),
      ]);
      expect(ids(index.listByProject(P1))).toEqual([hexId(1), hexId(2), hexId(3)]);
      expect(index.size).toBe(4);
    });
  });
});
