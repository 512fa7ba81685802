// @ts-check
/**
 * Mutation testing over the decision core (`npm run test:mutation`): Stryker changes one thing
 * at a time in these files (a `<` into `<=`, a `true` into `false`, a removed call) and runs the
 * unit specs that cover it; a mutant no spec notices is a behaviour nobody states. See
 * docs/testing.md for the scores per file and how to run it on a change (incremental mode).
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/circuit-breaker/breaker-machine.ts',
    'src/reporting/outcome-classifier.ts',
    'src/common/binary-heap.ts',
    'src/protection/lease-queues.ts',
    'src/protection/lease-manager.ts',
    'src/rate-limit/quota.service.ts',
    'src/selection/strategies/*.strategy.ts',
    'src/selection/strategies/strategy-math.ts',
    'src/registry/registry-index.ts',
    'src/tenancy/api-key-authenticator.ts',
    'src/minute-metrics/minute-bucket.ts',
    'src/minute-metrics/minute-aggregator.ts',
    'src/minute-metrics/minute-metrics.store.ts',
  ],
  // Logging and error-message text are not decisions.
  ignoreStatic: true,
  thresholds: { high: 90, low: 80, break: 80 },
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  concurrency: 2,
  timeoutMS: 10000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
