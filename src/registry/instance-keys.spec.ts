import type { EntityManager } from 'typeorm';
import type { ApiInstanceEntity } from './entities/api-instance.entity';
import { conflictError, findByKeys, isUniqueViolation } from './instance-keys';

const P = 'a'.repeat(32);

function row(id: string, businessId: string, apiType: 'MODEL' | 'OTHER' = 'MODEL'): ApiInstanceEntity {
  return { id, businessId, apiType, projectId: P } as ApiInstanceEntity;
}

/** A manager whose `find` answers what a collation that pads trailing spaces would. */
function paddingDatabase(rows: ApiInstanceEntity[]): EntityManager {
  const padded = (id: string) => id.replace(/ +$/, '');
  return {
    find: (_entity: unknown, { where }: { where: { businessId: { value: string[] } } }) =>
      Promise.resolve(rows.filter((r) => where.businessId.value.some((id) => padded(id) === padded(r.businessId)))),
  } as unknown as EntityManager;
}

describe('findByKeys', () => {
  it('keeps only exact matches, and reports a stored key the database held equal to a requested one', async () => {
    const manager = paddingDatabase([row('1', 'pad'), row('2', 'exact'), row('3', 'pad ', 'OTHER')]);
    const lookup = await findByKeys(manager, P, [
      { apiType: 'MODEL', businessId: 'pad ' },
      { apiType: 'MODEL', businessId: 'exact' },
    ]);
    expect(lookup.found.map((r) => r.id)).toEqual(['2']);
    // 'pad ' of type OTHER is another key (the unique key includes apiType): no clash.
    expect(lookup.clashes).toEqual([{ requested: { apiType: 'MODEL', businessId: 'pad ' }, existing: 'pad' }]);
  });

  it('finds nothing and no clash on a byte-exact collation', async () => {
    const lookup = await findByKeys(paddingDatabase([]), P, [{ apiType: 'MODEL', businessId: 'new' }]);
    expect(lookup).toEqual({ found: [], clashes: [] });
  });
});

describe('conflictError', () => {
  it('is 409 INSTANCE_CONFLICT naming the business id asked for and the stored one', () => {
    const error = conflictError([{ apiType: 'MODEL', businessId: 'pad ' }], {
      requested: { apiType: 'MODEL', businessId: 'pad ' },
      existing: 'pad',
    });
    expect(error.code).toBe('INSTANCE_CONFLICT');
    expect(error.details).toEqual({ businessId: 'pad ', existing: 'pad' });
  });

  it('names the batch when the clashing item is unknown, never with the database message', () => {
    const error = conflictError([
      { apiType: 'MODEL', businessId: 'a' },
      { apiType: 'MODEL', businessId: 'a ' },
    ]);
    expect(error.details).toEqual({ businessId: 'a', businessIds: ['a', 'a '] });
    expect(error.message).not.toMatch(/Duplicate entry/);
  });
});

describe('isUniqueViolation', () => {
  it('knows MySQL and SQLite duplicate keys, wrapped by TypeORM or not', () => {
    expect(isUniqueViolation({ driverError: { code: 'ER_DUP_ENTRY' } })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe(true);
    expect(isUniqueViolation({ code: 'ER_LOCK_DEADLOCK' })).toBe(false);
  });
});
