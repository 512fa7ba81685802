import fc from 'fast-check';
import { exceedsJsonDepth } from './json-depth';

/** Nesting depth of a parsed JSON value (a scalar is 0, `{}` and `[]` are 1). */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, depthOf(child)), 0);
}

const text = (json: string): Buffer => Buffer.from(json, 'utf8');

describe('exceedsJsonDepth', () => {
  it('counts objects and arrays, the outermost as level 1', () => {
    expect(exceedsJsonDepth(text('{"a":[[1]]}'), 3)).toBe(false);
    expect(exceedsJsonDepth(text('{"a":[[1]]}'), 2)).toBe(true);
    expect(exceedsJsonDepth(text('[]'), 1)).toBe(false);
    expect(exceedsJsonDepth(text('42'), 1)).toBe(false);
    expect(exceedsJsonDepth(text(''), 1)).toBe(false);
  });

  it('measures siblings, not their sum', () => {
    expect(exceedsJsonDepth(text('[[1],[2],[3],{"a":1}]'), 2)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes and backslashes included', () => {
    expect(exceedsJsonDepth(text(JSON.stringify({ a: '[[[[{{{{' })), 1)).toBe(false);
    expect(exceedsJsonDepth(text(JSON.stringify({ a: '"[[[[', b: '\\', c: '\\"{{{', d: '\\\\' })), 1)).toBe(false);
    expect(exceedsJsonDepth(text(JSON.stringify({ a: '\\', b: [[]] })), 2)).toBe(true);
    expect(exceedsJsonDepth(text(JSON.stringify({ 'k[': '€[', ü: ['"'] })), 1)).toBe(true);
  });

  it('leaves malformed text to the parser (an unclosed string ends the scan)', () => {
    expect(exceedsJsonDepth(text('{"a":"[[[['), 1)).toBe(false);
    expect(exceedsJsonDepth(text(']]]]{'), 1)).toBe(false);
  });

  it('stops at the first level beyond the limit, thousands deep', () => {
    expect(exceedsJsonDepth(text('['.repeat(100_000)), 32)).toBe(true);
    expect(exceedsJsonDepth(text(`${'{"a":'.repeat(32)}1${'}'.repeat(32)}`), 32)).toBe(false);
    expect(exceedsJsonDepth(text(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`), 32)).toBe(true);
  });

  it('agrees with the parsed depth of any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 7 }), (value, limit) => {
        expect(exceedsJsonDepth(text(JSON.stringify(value)), limit)).toBe(depthOf(value) > limit);
      }),
    );
  });
});
