import { checkJsonShape } from './json-limits';

const limits = { jsonKeysPerObject: 3, jsonDepth: 3 };
const wide = (keys: number) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));

describe('checkJsonShape', () => {
  it('accepts objects at the limits, and anything that is not an object', () => {
    expect(checkJsonShape({ metadata: { a: wide(3), b: { c: 1 } }, routingParams: wide(3) }, '', limits)).toEqual([]);
    expect(checkJsonShape({ metadata: null, routingParams: undefined }, '', limits)).toEqual([]);
    expect(checkJsonShape({ metadata: 'text' }, '', limits)).toEqual([]);
  });

  it('names the object with too many keys, at any depth, and does not walk below it', () => {
    expect(checkJsonShape({ metadata: { a: { b: wide(4) } } }, '', limits)).toEqual([
      { field: 'metadata.a.b', message: 'metadata.a.b has 4 keys; at most 3 are allowed' },
    ]);
    expect(checkJsonShape({ routingParams: { ...wide(3), x: { y: { z: {} } } } }, '', limits)).toEqual([
      { field: 'routingParams', message: 'routingParams has 4 keys; at most 3 are allowed' },
    ]);
  });

  it('counts the field itself as level 1 and an array as a level, its items by index', () => {
    expect(checkJsonShape({ metadata: { a: { b: {} } } }, '', limits)).toEqual([]);
    expect(checkJsonShape({ metadata: { a: { b: { c: 1 } } } }, '', limits)).toEqual([]);
    expect(checkJsonShape({ metadata: { a: { b: { c: {} } } } }, '', limits)).toEqual([
      { field: 'metadata.a.b.c', message: 'metadata.a.b.c is nested 4 levels deep; at most 3 are allowed' },
    ]);
    expect(checkJsonShape({ routingParams: { list: [1, [{}]] } }, '', limits)).toEqual([
      {
        field: 'routingParams.list.1.0',
        message: 'routingParams.list.1.0 is nested 4 levels deep; at most 3 are allowed',
      },
    ]);
  });

  it('does not count array items as keys', () => {
    expect(checkJsonShape({ metadata: { list: Array.from({ length: 50 }, (_, i) => i) } }, '', limits)).toEqual([]);
  });

  it('prefixes the path of a batch item and reports both fields', () => {
    const errors = checkJsonShape({ metadata: wide(4), routingParams: { a: { b: { c: {} } } } }, 'instances.7', limits);
    expect(errors.map((error) => error.field)).toEqual(['instances.7.metadata', 'instances.7.routingParams.a.b.c']);
  });
});
