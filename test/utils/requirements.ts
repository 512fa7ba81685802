/** Reasons already printed by this test file (each once, however many suites share it). */
const warned = new Set<string>();

/**
 * `describe` when everything a suite needs is there. When something is missing: a failing suite
 * on CI (`CI=true`), where a missing dependency must not pass unnoticed, with a message naming
 * what to provide; elsewhere a visibly skipped suite (a warning and "skipped: …" in its title).
 *
 * @example
 * describeWhenAvailable('cluster', process.env.TEST_DATABASE_URL ? [] : ['TEST_DATABASE_URL is not set'], () => {
 *   it('…', async () => {});
 * });
 */
export function describeWhenAvailable(name: string, missing: readonly string[], suite: () => void): void {
  if (missing.length === 0) {
    describe(name, suite);
    return;
  }
  const reason = missing.join('; ');
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it needs', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`Skipping "${name}" and every other suite that needs it: ${reason}`);
  }
  describe.skip(`${name} (skipped: ${reason})`, suite);
}
