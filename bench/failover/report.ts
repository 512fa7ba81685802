/** bench/results/failover.md and failover.json: one table per scenario, a column per policy. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultFigures, PolicyFigures, ScenarioFigures } from './metrics';
import { POLICIES } from './types';

export interface FailoverReport {
  readonly mode: 'full' | 'quick';
  readonly startedAt: string;
  readonly wallS: number;
  readonly node: string;
  /** Gateway nodes the client spread its calls over (MySQL + Redis); absent: one node on SQLite. */
  readonly nodes?: number;
  readonly scenarios: readonly ScenarioFigures[];
}

const cell = (value: number | null, suffix = ''): string => (value === null ? 'never' : `${value}${suffix}`);

const ROWS: readonly [string, (p: PolicyFigures) => string][] = [
  ['calls (attempts)', (p) => `${p.calls} (${p.attempts})`],
  ['success, first try', (p) => `${p.firstTrySuccess} %`],
  ['success, after the retry', (p) => `${p.finalSuccess} %`],
  ['failed attempts', (p) => String(p.failedAttempts)],
  ['failed calls (final)', (p) => String(p.finalFailures)],
  ['refused (no instance)', (p) => String(p.refusals)],
  ['429s seen', (p) => String(p.rateLimited)],
  ['p50 / p99 call latency', (p) => `${p.p50Ms} / ${p.p99Ms} ms`],
  ['ejections (trips)', (p) => (p.ejections === null ? '–' : String(p.ejections))],
  [
    'share of attempts before the fault',
    (p) =>
      Object.entries(p.sharesBeforeFault)
        .map(([id, pct]) => `${id} ${pct}`)
        .join(' · '),
  ],
];

const FAULT_ROWS: readonly [string, (f: FaultFigures) => string][] = [
  ['failed attempts on it', (f) => String(f.failedDuringFault)],
  ['… in its first 5 s', (f) => String(f.failedFirst5s)],
  ['429s from it', (f) => String(f.rateLimitedDuringFault)],
  ['time to eject', (f) => cell(f.ejectAfterS, ' s')],
  ['failed attempts before eject', (f) => cell(f.failedBeforeEject)],
  ['back to full share after', (f) => cell(f.recoveryS, ' s')],
];

function scenarioMarkdown(s: ScenarioFigures): string {
  const head = `| | ${POLICIES.join(' | ')} |\n|---|${POLICIES.map(() => '---:').join('|')}|`;
  const rows = ROWS.map(([label, f]) => `| ${label} | ${POLICIES.map((p) => f(s.policies[p])).join(' | ')} |`);
  const faults = (s.policies.gateway.faults ?? []).flatMap((fault, k) =>
    FAULT_ROWS.filter(
      ([label]) => label !== '429s from it' || POLICIES.some((p) => s.policies[p].faults[k].rateLimitedDuringFault > 0),
    ).map(
      ([label, f]) => `| ${fault.label}: ${label} | ${POLICIES.map((p) => f(s.policies[p].faults[k])).join(' | ')} |`,
    ),
  );
  const sdk = s.gatewaySdk;
  const errors = Object.entries(s.gatewaySelectErrors).map(([code, n]) => `${code} × ${n}`);
  const breakers = Object.entries(s.finalBreakers).map(([id, state]) =>
    state.includes(',') ? `${id} (${state})` : `${id} ${state}`,
  );
  const transitions = s.breakerTransitions.map((t) => `${t.businessId} ${t.from} → ${t.to} at ${t.atS} s`);
  const propagation =
    s.propagationMs === undefined
      ? ''
      : ` The other nodes served the instances registered on node a ${s.propagationMs} ms after the registration.`;
  return [
    `## ${s.name}`,
    '',
    `${s.description}; ${s.durationS} s. ${s.target ? `Target: ${s.target}.` : ''}`,
    '',
    head,
    ...rows,
    ...faults,
    '',
    `Gateway refusals: ${errors.length ? errors.join(', ') : 'none'}. Breakers at the end: ${breakers.join(', ')}.${propagation}`,
    '',
    `SDK callers (those reporting with their selectionId): ${sdk.calls} calls, ${sdk.attempts} attempts, ` +
      `${sdk.reportsCounted} reports counted, ${sdk.duplicates} duplicates, ${sdk.dropped} lost.`,
    '',
    `Breaker transitions: ${transitions.length ? transitions.join('; ') : 'none'}.`,
    '',
  ].join('\n');
}

export function markdown(report: FailoverReport): string {
  const cluster = report.nodes
    ? [
        `**${report.nodes} gateway nodes** on one MySQL database and one Redis (cluster mode): the gateway client`,
        `sends each select to the next node in turn and the call's report to the node after it (round-robin, as a`,
        'load balancer would); the columns of the baselines are the same in-process models as on one node.',
        '',
      ]
    : [];
  return [
    `# Failover benchmark (${report.mode}${report.nodes ? `, ${report.nodes} nodes` : ''})`,
    '',
    ...cluster,
    `${report.startedAt}, Node ${report.node}, ${report.wallS} s. Every policy served the same arrivals against the same mock`,
    'backends at the same instants; a call is one try plus one retry elsewhere after a failed try (not after a 4xx).',
    '"Failed attempts" counts every backend call that did not succeed; "time to eject" is the first moment after the',
    'fault from which the backend got no call for max(1 s, 3 of its mean inter-arrival times); "back to full share" is',
    'when its share of calls over a 5 s window is again ≥ 80 % of its share before the fault. Latencies are backend',
    'time only (the gateway round trips are not counted against it).',
    '',
    ...report.scenarios.map(scenarioMarkdown),
  ].join('\n');
}

/** failover.*, failover-quick.*, failover-3-nodes.*, failover-quick-3-nodes.* in `dir`. */
export function writeReport(report: FailoverReport, dir: string): { md: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const suffix = `${report.mode === 'quick' ? '-quick' : ''}${report.nodes ? `-${report.nodes}-nodes` : ''}`;
  const md = join(dir, `failover${suffix}.md`);
  const json = join(dir, `failover${suffix}.json`);
  writeFileSync(md, markdown(report));
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  return { md, json };
}
