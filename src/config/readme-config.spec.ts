import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every environment variable the code reads is documented in the README's configuration table. */
describe('README configuration table', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const sources = readdirSync(__dirname)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
    .map((file) => readFileSync(join(__dirname, file), 'utf8'))
    .join('\n');
  const variables = [...sources.matchAll(/read\.\w+\(\s*'([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1]);

  it('finds the variables in the config code', () => {
    expect(variables).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'GATEWAY_SQLITE_PATH']));
  });

  it.each([...new Set(variables)])('documents %s', (name) => {
    expect(readme).toContain(`| \`${name}\` |`);
  });
});
