/**
 * The Jest run Stryker uses for each mutant (`npm run test:mutation`): the unit specs beside the
 * code only. The e2e suites start whole applications and take minutes; the decision core's own
 * specs are what must catch a changed line there. Redis-backed specs (src/cluster) are left out:
 * they test the cluster seams, not the decision core, and would need a server per mutant.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testRegex: ['src/.*\\.spec\\.ts$', 'test/contracts/.*\\.spec\\.ts$'],
  testPathIgnorePatterns: [...base.testPathIgnorePatterns, '<rootDir>/src/cluster/'],
};
