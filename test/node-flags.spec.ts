import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_NODE_FLAGS } from '../bench/http/children';

/**
 * The gateway's V8 flags (ADR 0013) are written in three places: `npm start`, the Dockerfile's CMD
 * and the HTTP bench (which starts the gateway and its baselines with them). One list for all three.
 */
const ROOT = join(__dirname, '..');

describe('the V8 flags the gateway runs with', () => {
  it('are the same for npm start, the Docker image and the bench', () => {
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } })
      .scripts.start;
    expect(start).toBe(['node', ...SERVER_NODE_FLAGS, 'dist/main.js'].join(' '));

    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(cmd).not.toBeNull();
    expect(JSON.parse(cmd![1])).toEqual(['node', ...SERVER_NODE_FLAGS, 'dist/main.js']);
  });

  it('are flags this Node accepts', () => {
    for (const flag of SERVER_NODE_FLAGS)
      expect(process.allowedNodeEnvironmentFlags.has(flag.split('=')[0])).toBe(true);
  });
});
