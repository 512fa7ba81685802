/**
 * One Jest run for everything: unit specs beside the code (`src/**\/*.spec.ts`), e2e suites and
 * contract tests under `test/`. The swagger plugin runs in ts-jest too, so the OpenAPI document
 * seen by tests is the one the build produces.
 */
const { availableParallelism } = require('node:os');

const swaggerPlugin = { path: '<rootDir>/test/swagger-transformer.js' };

/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: ['src/.*\\.spec\\.ts$', 'test/.*\\.(e2e-spec|spec)\\.ts$', 'libs/.*\\.spec\\.ts$'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false, astTransformers: { before: [swaggerPlugin] } }],
    // ESM-only dependencies of CommonJS packages (@fastify/static → content-disposition@3): Jest on
    // Node 20 cannot require(esm), so they are compiled to CommonJS for the tests.
    '^.+/node_modules/content-disposition/.+\\.js$': [
      'ts-jest',
      { diagnostics: false, tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2023' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // Stryker's sandbox copies of the project (npm run test:mutation) are not part of this run.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/.stryker-tmp/'],
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
  testTimeout: 30000,
  // Suites run in a worker process, replaced once it holds more than this after a suite. Without
  // it, Jest on 2 cores (one worker) runs every suite in band, in its own main process, whose heap
  // grew past 3 GB by the end of a run: the long pauses of collecting such a heap stalled the
  // timing-sensitive suites that run late (the quick failover bench drives real traffic from it).
  workerIdleMemoryLimit: '1GB',
  // At least two workers. Jest's default (cores − 1) is one on a 2-core machine, and the longest
  // suites wait on the clock, not the CPU (the quick failover bench: ~4.5 minutes of real-time
  // scenarios; the process, cluster and browser suites wait on child processes): one worker left
  // the other core idle through them. Two workers on 2 cores: 7.5 minutes; the last one-worker runs
  // took 12–15 minutes (on a slower machine).
  maxWorkers: Math.max(2, availableParallelism() - 1),
  // Nest's console logger is recorded, not printed: expected warnings are asserted, unexpected
  // ones printed after their test (test/utils/nest-logs.ts).
  setupFilesAfterEnv: ['<rootDir>/test/utils/nest-logs.ts'],
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts', '!src/cli/**'],
};
