import { ID_PATTERN, newId, newOrderedId, newRandomId } from './ids';

describe('ids', () => {
  it('are 32 lowercase hex characters', () => {
    expect(newId()).toMatch(ID_PATTERN);
    expect(newOrderedId(Date.UTC(2026, 10, 29))).toMatch(ID_PATTERN);
    expect(newRandomId()).toMatch(ID_PATTERN);
  });

  it('pooled random ids do not repeat across pool refills', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newRandomId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(ID_PATTERN);
  });

  it('ordered ids sort by time, then by creation within one millisecond', () => {
    const at = Date.UTC(2026, 10, 29, 12);
    const ids = [newOrderedId(at), newOrderedId(at), newOrderedId(at + 1), newOrderedId(at - 1)];
    expect([...ids].sort()).toEqual([ids[3], ids[0], ids[1], ids[2]]);
  });
});
