// Module boundaries of src/ and libs/sdk, checked by `npm run lint` (docs/architecture.md, "Module boundaries").
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle between files.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'No import cycle between rooms (folders) either: each room builds on the ones below it.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'foundations-import-no-feature',
      comment: 'state/ and common/ are what features build on: they import nothing of a feature.',
      severity: 'error',
      from: { path: '^src/(state|common)/' },
      to: { path: '^src/', pathNot: '^src/(state|common|config)/' },
    },
    {
      name: 'protection-never-imports-selection',
      comment: 'circuit-breaker/ and rate-limit/ judge instances; they know nothing of how one is chosen.',
      severity: 'error',
      from: { path: '^src/(circuit-breaker|rate-limit)/' },
      to: { path: '^src/selection/' },
    },
    {
      name: 'breaker-store-only-through-circuit-breaker',
      comment: 'Breaker state is read and changed only through circuit-breaker/ (a shared store needs one owner).',
      severity: 'error',
      from: { pathNot: '^src/(circuit-breaker|state|cluster)/' },
      to: { path: '^src/state/breaker-store\\.ts$' },
    },
    {
      name: 'cluster-implements-state-only',
      comment: 'cluster/ implements the state seams over Redis: it builds on state/, common/ and config/ only.',
      severity: 'error',
      from: { path: '^src/cluster/' },
      to: { path: '^src/', pathNot: '^src/(state|common|config|cluster)/' },
    },
    {
      name: 'features-never-import-cluster',
      comment: 'Features see the seams (state/), never their Redis implementations; only app.module chooses.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cluster/|app\\.module\\.ts$)' },
      to: { path: '^src/cluster/' },
    },
    {
      name: 'hot-path-never-reaches-database',
      comment: 'select and report answer from memory: nothing they reach may import database/.',
      severity: 'error',
      from: { path: '^src/selection/gateway\\.controller\\.ts$' },
      to: { path: '^src/database/', reachable: true },
    },
    {
      name: 'sdk-stands-alone',
      comment:
        'libs/sdk is published on its own (@api-premium-gateway/sdk): it imports nothing of the gateway (src/, test/) nor Nest.',
      severity: 'error',
      from: { path: '^libs/sdk/(src|examples)/', pathNot: '^libs/sdk/src/testing/' },
      to: { path: ['^src/', '^test/', 'node_modules/@nestjs/'] },
    },
    {
      name: 'sdk-runs-wherever-fetch-does',
      comment:
        "The SDK's code runs in Node 20+, browsers and Deno: web-platform globals only, no Node built-in module (its specs and testing/ may).",
      severity: 'error',
      from: { path: '^libs/sdk/src/', pathNot: '^libs/sdk/src/testing/' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^src/dashboard/public/', '\\.spec\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
