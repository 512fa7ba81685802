/** bench/results/failover.md and failover.json: one table per scenario, a column per policy. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultFigures, PolicyFigures, ScenarioFigures } from './metrics';
import { POLICIES, type PolicyName } from './types';

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

/** The policies a scenario's figures have, in the report's order. */
const columns = (s: ScenarioFigures): PolicyName[] => POLICIES.filter((p) => s.policies[p] !== undefined);

/** Shares in the backends' order (named once, in the row's label). */
const shareCell = (shares: Record<string, number>): string => Object.values(shares).join(' · ');

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
];

/** The share rows: labelled with the backends' order and the span they cover. */
function shareRows(s: ScenarioFigures): [string, (p: PolicyFigures) => string][] {
  const ids = Object.keys(s.fairShares).join(' · ');
  const gateway = s.policies.gateway;
  const whole = gateway.shareWindows.length > 0 && gateway.shareWindows.at(-1)?.toS === s.durationS;
  const span = s.main.kind === 'share-gap' || whole ? 'run' : 'fault-free part';
  const rows: [string, (p: PolicyFigures) => string][] = [
    [`share of attempts, ${span} (${ids}), %`, (p) => shareCell(p.sharesBeforeFault)],
  ];
  if (s.main.kind !== 'share-gap') return rows;
  const gap: [string, (p: PolicyFigures) => string] = [
    'largest share gap over a minute, pts',
    (p) => (p.shareGapPts === null ? '–' : String(p.shareGapPts)),
  ];
  // Under a minute the run is one window: the row above already shows it.
  if (gateway.shareWindows.length < 2) return [...rows, gap];
  const minutes = gateway.shareWindows.map((w) => `${w.fromS}–${w.toS} s`).join(' / ');
  return [
    ...rows,
    [`… by minute (${minutes})`, (p) => p.shareWindows.map((w) => shareCell(w.shares)).join(' / ')],
    gap,
  ];
}

/** Who is best by the scenario's main figure among the non-oracle policies, and where the gateway stands. */
export function verdict(s: ScenarioFigures): string {
  const { main } = s;
  const show = (p: string): string => `${p} (${main.values[p] ?? '–'})`;
  if (main.best.length === 0) return `No policy has a figure for ${main.label}.`;
  const best = main.best.length > 1 ? `${main.best.map(show).join(', ')}, tied` : show(main.best[0]);
  const oracle =
    main.values.oracle === undefined || main.values.oracle === null ? '' : `; the oracle ${main.values.oracle}`;
  const gateway = main.best.includes('gateway')
    ? main.best.length > 1
      ? 'the gateway is among the best'
      : 'the gateway is the best'
    : `the gateway is not: ${main.values.gateway ?? '–'}`;
  return `Best of the non-oracle policies by ${main.label}: ${best}${oracle} — ${gateway}.`;
}

const FAULT_ROWS: readonly [string, (f: FaultFigures) => string][] = [
  ['failed attempts on it', (f) => String(f.failedDuringFault)],
  ['… in its first 5 s', (f) => String(f.failedFirst5s)],
  ['429s from it', (f) => String(f.rateLimitedDuringFault)],
  ['time to eject', (f) => cell(f.ejectAfterS, ' s')],
  ['failed attempts before eject', (f) => cell(f.failedBeforeEject)],
  // A fault that lasts to the end of the run has no "after".
  ['back to full share after', (f) => (f.endS === undefined ? '–' : cell(f.recoveryS, ' s'))],
];

function scenarioMarkdown(s: ScenarioFigures): string {
  const policies = columns(s);
  const head = `| | ${policies.join(' | ')} |\n|---|${policies.map(() => '---:').join('|')}|`;
  const rows = [...ROWS, ...shareRows(s)].map(
    ([label, f]) => `| ${label} | ${policies.map((p) => f(s.policies[p])).join(' | ')} |`,
  );
  const faults = (s.policies.gateway.faults ?? []).flatMap((fault, k) =>
    FAULT_ROWS.filter(
      ([label]) => label !== '429s from it' || policies.some((p) => s.policies[p].faults[k].rateLimitedDuringFault > 0),
    ).map(
      ([label, f]) => `| ${fault.label}: ${label} | ${policies.map((p) => f(s.policies[p].faults[k])).join(' | ')} |`,
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
    verdict(s),
    '',
    `Fair shares: ${Object.entries(s.fairShares)
      .map(([id, pct]) => `${id} ${pct}`)
      .join(' · ')} %. Gateway refusals: ${errors.length ? errors.join(', ') : 'none'}. ` +
      `Breakers at the end: ${breakers.join(', ')}.${propagation} ` +
      `Longest wait for a first attempt through the gateway: ${s.gatewayStartDelayMaxMs} ms; ` +
      `attempts timed out on backends scripted to answer fast: ${s.stallTimeouts}.`,
    '',
    `SDK callers (those reporting with their selectionId): ${sdk.calls} calls, ${sdk.attempts} attempts, ` +
      `${sdk.reportsCounted} reports counted, ${sdk.duplicates} duplicates, ${sdk.dropped} lost.`,
    '',
    `Breaker transitions: ${transitions.length ? transitions.join('; ') : 'none'}.`,
    '',
  ].join('\n');
}

/** One row per scenario: its main figure under each policy, and the best non-oracle policy. */
function summary(report: FailoverReport): string[] {
  const policies = POLICIES.filter((p) => report.scenarios.some((s) => s.policies[p] !== undefined));
  const value = (s: ScenarioFigures, p: PolicyName): string => {
    const v = s.main.values[p];
    const text = v === undefined || v === null ? '–' : String(v);
    return s.main.best.includes(p) ? `**${text}**` : text;
  };
  return [
    '## Summary',
    '',
    'Each scenario ranks the policies by one figure, lower is better: failed attempts during the faults plus tries turned away, the largest',
    'share gap over a minute (fairness scenarios), p99 latency (a latency fault) or trips (no fault); the best',
    'non-oracle policy in bold.',
    '',
    `| scenario | figure | ${policies.join(' | ')} |`,
    `|---|---|${policies.map(() => '---:').join('|')}|`,
    ...report.scenarios.map((s) => `| ${s.name} | ${s.main.label} | ${policies.map((p) => value(s, p)).join(' | ')} |`),
    '',
  ];
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
    'time only (the gateway round trips are not counted against it). Shares are of attempts, over the part of the run',
    'before the first fault (or the whole run), per full minute of it; a fair share is weight-proportional over the',
    "primary identifier's best tier. Closed-loop scenarios (conversations) give each policy its own conversations:",
    'their calls start when the policy has served the previous one.',
    '',
    ...summary(report),
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
