/**
 * npm run bench:failover:charts [-- path/to/failover.json]
 *
 * The failover run's pictures, written beside its JSON (failover.json → failover-failed-attempts.svg
 * and failover-shares.svg): failed attempts during each fault by policy, and each instance's share
 * of attempts over time in the hard-outage scenario (every policy) and in the sequential one (one
 * call at a time: the gateway against round-robin). Vega-Lite specs compiled to Vega and rendered
 * to SVG by Vega's headless view: no browser, no canvas, no fonts (text widths are estimated).
 * The same JSON gives byte-identical SVGs, so reruns diff cleanly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
// Types only, from vega-lite's own declarations (its index does not re-export them).
import type { Field, PositionFieldDef } from 'vega-lite/build/src/channeldef';
import type { LayerSpec, NonNormalizedSpec } from 'vega-lite/build/src/spec';
import type { GenericConcatSpec } from 'vega-lite/build/src/spec/concat';
import { SCENARIOS } from './scenarios';

/** The part of a FailoverReport (report.ts) the charts read; fields another version may lack are optional. */
export interface ChartInput {
  readonly mode: 'full' | 'quick';
  readonly scenarios: readonly ChartScenario[];
}

export interface ChartScenario {
  readonly name: string;
  readonly durationS: number;
  readonly policies: Record<string, { readonly faults: readonly ChartFault[] }>;
  readonly shareSeries?: ShareSeries;
}

export interface ChartFault {
  readonly label: string;
  readonly failedDuringFault: number;
  /** Absent from the figures so far: then taken from the scenario's definition. */
  readonly startS?: number;
  readonly endS?: number;
}

export interface ShareSeries {
  readonly bucketS: number;
  /** policy → businessId → share of that bucket's attempts, %. */
  readonly byPolicy: Record<string, Record<string, readonly number[]>>;
}

/** The scenario whose shares over time are drawn for every policy. */
export const SHARES_SCENARIO = 'hard-outage';
/** The closed-loop scenario whose shares are drawn too, for these policies only. */
export const SEQUENTIAL_SCENARIO = 'sequential';
export const SEQUENTIAL_POLICIES = ['gateway', 'round-robin'];

// Fixed colours for the known policies so a policy keeps its colour from run to run; the gateway
// stands out, the oracle (a bound, not a rival) is grey.
const POLICY_COLOURS: Record<string, string> = {
  gateway: '#1f77b4',
  oracle: '#8c8c8c',
  'round-robin': '#ff7f0e',
  reference: '#9467bd',
  'replicas-cockatiel': '#2ca02c',
  'replicas-opossum': '#17becf',
  litellm: '#d62728',
};
const SPARE_COLOURS = ['#8c564b', '#e377c2', '#bcbd22', '#393b79', '#637939'];

const CONFIG = {
  font: 'sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11 },
  title: { anchor: 'start', fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555' },
} as const;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

function policiesOf(report: ChartInput): string[] {
  const seen = new Set<string>();
  for (const s of report.scenarios) for (const p of Object.keys(s.policies)) seen.add(p);
  return [...seen];
}

function colours(policies: readonly string[]): string[] {
  let spare = 0;
  return policies.map((p) => POLICY_COLOURS[p] ?? SPARE_COLOURS[spare++ % SPARE_COLOURS.length]);
}

/** Chart 1: one group of bars per scenario fault, a bar per policy, the count written at its end. */
export function failedAttemptsSpec(report: ChartInput): TopLevelSpec {
  const policies = policiesOf(report);
  const rows: { group: string; policy: string; failed: number }[] = [];
  const groups: string[] = [];
  const quiet: string[] = [];
  for (const s of report.scenarios) {
    const faults = Object.values(s.policies)[0]?.faults ?? [];
    faults.forEach((fault, k) => {
      const group = `${s.name} · ${fault.label}`;
      const counts = policies.flatMap((policy) => {
        const f = s.policies[policy]?.faults[k];
        return f ? [{ group, policy, failed: f.failedDuringFault }] : [];
      });
      // A fault no policy failed on (a latency spike) has nothing to draw here.
      if (counts.every((c) => c.failed === 0)) return void quiet.push(group);
      groups.push(group);
      rows.push(...counts);
    });
  }

  const max = Math.max(1, ...rows.map((r) => r.failed));
  // Round-robin's ~1000 next to the gateway's ~5: a symlog axis keeps both readable and still
  // draws 0; its ticks are set by hand, Vega's defaults on symlog are linear. The domain leaves
  // room for the longest bar's count.
  const top = 2 * max;
  const ticks = [0, ...Array.from({ length: Math.floor(Math.log10(top)) + 1 }, (_, i) => 10 ** i)];
  const subtitle = [
    'Failed attempts on the faulty instance from the start to the end of the fault; symlog scale, counts at the bar ends.',
    ...(quiet.length ? [`Left out, no failed attempt under any policy: ${quiet.join(', ')}.`] : []),
  ];
  return {
    $schema: SCHEMA,
    title: { text: `Failover benchmark (${report.mode}): failed attempts during each fault`, subtitle },
    data: { values: rows },
    width: 560,
    height: { step: Math.max(6, Math.round(60 / Math.max(1, policies.length))) * policies.length, for: 'position' },
    encoding: {
      y: { field: 'group', type: 'nominal', sort: groups, title: null, axis: { labelLimit: 300 } },
      yOffset: { field: 'policy', type: 'nominal', sort: policies, scale: { domain: policies, paddingOuter: 0.5 } },
      x: {
        field: 'failed',
        type: 'quantitative',
        scale: { type: 'symlog', domain: [0, top], nice: false },
        axis: { values: ticks, format: 'd', title: 'failed attempts (symlog)' },
      },
      color: {
        field: 'policy',
        type: 'nominal',
        sort: policies,
        scale: { domain: policies, range: colours(policies) },
        legend: { title: null, orient: 'right' },
      },
    },
    layer: [
      { mark: { type: 'bar' } },
      {
        // The counts; the gateway's in bold, the policy the chart is about.
        transform: [{ filter: "datum.policy !== 'gateway'" }],
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 9 },
        encoding: { text: { field: 'failed', type: 'quantitative', format: 'd' }, color: { value: '#333' } },
      },
      {
        transform: [{ filter: "datum.policy === 'gateway'" }],
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 9, fontWeight: 'bold' },
        encoding: { text: { field: 'failed', type: 'quantitative', format: 'd' }, color: { value: '#000' } },
      },
    ],
    config: CONFIG,
  };
}

/** The fault windows of a scenario: from the figures if they carry them, else from its definition. */
function faultWindows(report: ChartInput, scenario: ChartScenario): { label: string; startS: number; endS: number }[] {
  const faults = Object.values(scenario.policies)[0]?.faults ?? [];
  const defined = SCENARIOS.find((e) => e.name === scenario.name)?.build(report.mode).faults ?? [];
  return faults.flatMap((f) => {
    const def = defined.find((d) => d.label === f.label);
    const startS = f.startS ?? def?.startS;
    if (startS === undefined) return [];
    return [{ label: f.label, startS, endS: f.endS ?? def?.endS ?? scenario.durationS }];
  });
}

type ShareSection = GenericConcatSpec<NonNormalizedSpec>;

/** Per policy, each instance's share stacked over time, the faults shaded: one panel each, two a row. */
function sharesSection(
  report: ChartInput,
  scenario: ChartScenario,
  series: ShareSeries,
  policies: readonly string[],
): ShareSection {
  const instances = [...new Set(policies.flatMap((p) => Object.keys(series.byPolicy[p])))];
  const windows = faultWindows(report, scenario);
  const endS = scenario.durationS;
  // One time axis for every panel, the whole run.
  const timeX = (field: string): PositionFieldDef<Field> => ({
    field,
    type: 'quantitative',
    scale: { domain: [0, endS], nice: false, zero: true },
    axis: { title: 'scenario time (s)', tickMinStep: series.bucketS },
  });
  // The faults shaded, their edges dashed, their labels at the foot; nothing without a fault.
  const faultLayers: LayerSpec<Field>['layer'] =
    windows.length === 0
      ? []
      : [
          {
            data: { values: windows },
            mark: { type: 'rect', color: '#000', opacity: 0.07 },
            encoding: { x: timeX('startS'), x2: { field: 'endS' } },
          },
          {
            data: { values: windows.flatMap((w) => [{ s: w.startS }, { s: w.endS }]) },
            mark: { type: 'rule', color: '#000', strokeDash: [4, 3], strokeWidth: 1 },
            encoding: { x: timeX('s') },
          },
          {
            data: { values: windows },
            mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 3, fontSize: 10, color: '#000' },
            encoding: { x: timeX('startS'), y: { value: 0 }, text: { field: 'label' } },
          },
        ];
  const panel = (policy: string): LayerSpec<Field> => {
    const rows = Object.entries(series.byPolicy[policy]).flatMap(([instance, shares]) => {
      const k = instances.indexOf(instance);
      const points = shares.map((share, i) => ({ t: i * series.bucketS, instance, k, share }));
      // Step areas need the last bucket's end as a point of its own to draw that bucket.
      const last = points.at(-1);
      if (last) points.push({ ...last, t: Math.min(endS, shares.length * series.bucketS) });
      return points;
    });
    return {
      title: { text: policy, fontSize: 12 },
      width: 300,
      height: 130,
      // The shading goes over the areas (an area fills its panel, it would hide a rect beneath).
      layer: [
        {
          data: { values: rows },
          mark: { type: 'area', interpolate: 'step-after' },
          encoding: {
            x: timeX('t'),
            y: {
              field: 'share',
              type: 'quantitative',
              stack: 'zero',
              scale: { domain: [0, 100] },
              axis: { title: 'share (%)', values: [0, 25, 50, 75, 100] },
            },
            color: {
              field: 'instance',
              type: 'nominal',
              sort: instances,
              scale: { domain: instances, scheme: 'set2' },
              legend: { title: 'instance', orient: 'top' },
            },
            // Stacked in the instances' order (first at the bottom), as in the legend.
            order: { field: 'k', type: 'quantitative', sort: 'ascending' },
          },
        },
        ...faultLayers,
      ],
    };
  };
  const shaded = windows.map((w) => `${w.label} ${w.startS}–${w.endS} s`).join(', ');
  return {
    title: {
      text: `${scenario.name}: each instance's share of attempts over time`,
      subtitle: `${series.bucketS} s buckets, stacked; shaded: ${shaded || 'no fault'}. An empty bucket has no attempts.`,
      fontSize: 13,
    },
    columns: 2,
    concat: policies.map(panel),
    resolve: { scale: { color: 'shared' } },
  };
}

/**
 * Chart 2: the shares over time in the hard outage (every policy), then in the sequential
 * scenario (the gateway against round-robin); null when the report has neither's shareSeries.
 */
export function sharesSpec(report: ChartInput): TopLevelSpec | null {
  const sections: ShareSection[] = [];
  const hard = report.scenarios.find((s) => s.name === SHARES_SCENARIO);
  if (hard?.shareSeries)
    sections.push(sharesSection(report, hard, hard.shareSeries, Object.keys(hard.shareSeries.byPolicy)));
  const sequential = report.scenarios.find((s) => s.name === SEQUENTIAL_SCENARIO);
  const drawn = SEQUENTIAL_POLICIES.filter((p) => sequential?.shareSeries?.byPolicy[p]);
  if (sequential?.shareSeries && drawn.length > 0)
    sections.push(sharesSection(report, sequential, sequential.shareSeries, drawn));
  if (sections.length === 0) return null;
  return {
    $schema: SCHEMA,
    title: { text: `Failover benchmark (${report.mode}): each instance's share of attempts over time` },
    vconcat: sections,
    spacing: 30,
    // Each scenario its own instances: a legend per section.
    resolve: { scale: { color: 'independent' } },
    config: CONFIG,
  };
}

/** Vega-Lite → Vega → SVG with the headless view (renderer 'none': nothing is drawn on a canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

export interface ChartSvgs {
  readonly failedAttempts: string;
  /** Null when the report has no share series for the hard-outage or the sequential scenario. */
  readonly shares: string | null;
}

export async function renderCharts(report: ChartInput): Promise<ChartSvgs> {
  const shares = sharesSpec(report);
  return {
    failedAttempts: await renderSvg(failedAttemptsSpec(report)),
    shares: shares ? await renderSvg(shares) : null,
  };
}

/** Writes `<base>-failed-attempts.svg` and `<base>-shares.svg` beside `<base>.json`; returns the paths written. */
export async function writeCharts(
  report: ChartInput,
  jsonPath: string,
  log: (message: string) => void = () => undefined,
): Promise<string[]> {
  const base = join(dirname(jsonPath), basename(jsonPath, '.json'));
  const svgs = await renderCharts(report);
  const written = [`${base}-failed-attempts.svg`];
  writeFileSync(written[0], svgs.failedAttempts);
  if (svgs.shares === null) {
    log(
      `no shareSeries for ${SHARES_SCENARIO} or ${SEQUENTIAL_SCENARIO} in ${jsonPath}: ${basename(base)}-shares.svg not drawn`,
    );
  } else {
    written.push(`${base}-shares.svg`);
    writeFileSync(written[1], svgs.shares);
  }
  return written;
}

if (require.main === module) {
  const jsonPath = process.argv[2] ?? join(__dirname, '..', 'results', 'failover.json');
  const log = (message: string) => void process.stderr.write(`[failover charts] ${message}\n`);
  writeCharts(JSON.parse(readFileSync(jsonPath, 'utf8')) as ChartInput, jsonPath, log).then(
    (files) => log(`wrote ${files.join(' and ')}`),
    (error: unknown) => {
      log(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}
