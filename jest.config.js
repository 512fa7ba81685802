/**
 * One Jest run for everything: unit specs beside the code (`src/**\/*.spec.ts`), e2e suites and
 * contract tests under `test/`. The swagger plugin runs in ts-jest too, so the OpenAPI document
 * seen by tests is the one the build produces.
 */
const swaggerPlugin = { path: '<rootDir>/test/swagger-transformer.js' };

/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: ['src/.*\\.spec\\.ts$', 'test/.*\\.(e2e-spec|spec)\\.ts$', 'libs/.*\\.spec\\.ts$'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false, astTransformers: { before: [swaggerPlugin] } }],
  },
  testTimeout: 30000,
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts', '!src/cli/**'],
};
