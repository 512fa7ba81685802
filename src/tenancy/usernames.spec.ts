import { canonicalUsername, foldedUsername, isSafeUsername } from './usernames';

describe('usernames', () => {
  it.each([
    ['admin', 'admin'],
    ['  ADMIN ', 'admin'],
    ['ａｄｍｉｎ', 'admin'],
    ['Ops@Example.COM', 'ops@example.com'],
    ['ÁDMÍN', 'ádmín'],
  ])('canonical(%j) is %j', (raw, canonical) => {
    expect(canonicalUsername(raw)).toBe(canonical);
  });

  it('folds accents away for counting failures: variants of a name share one form', () => {
    const forms = ['admin', 'ADMIN', 'admin ', 'ádmin', 'ÁDMÍN', 'admin\u0301', 'ＡＤＭＩＮ'].map(foldedUsername);
    expect(new Set(forms)).toEqual(new Set(['admin']));
    expect(foldedUsername('operator')).not.toBe('admin');
  });

  it.each([
    ['admin', true],
    ['ops.team_1@example-corp.com', true],
    ['0', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['', false],
    ['-dash', false],
    ['.dot', false],
    ['bob smith', false],
    ['ádmin', false],
    ['a/b', false],
    ['admin\u0000', false],
    ['Admin', false],
  ])('safe(%j) is %s', (name, safe) => {
    expect(isSafeUsername(name)).toBe(safe);
  });
});
