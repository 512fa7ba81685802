/**
 * The failover benchmark's pictures (bench/failover/charts.ts), rendered from a synthetic report:
 * well-formed SVG, one mark per figure with its number or label, the fault window where the
 * scenario puts it, and the same bytes on every render.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChartInput, type ChartScenario, renderCharts, writeCharts } from '../bench/failover/charts';
import { POLICIES } from '../bench/failover/types';

/** One scenario whose faults got `failed[policy][k]` failed attempts. */
function scenario(name: string, labels: string[], failed: Record<string, number[]>, extra = {}): ChartScenario {
  return {
    name,
    durationS: 85,
    policies: Object.fromEntries(
      POLICIES.map((p) => [p, { faults: labels.map((label, k) => ({ label, failedDuringFault: failed[p][k] })) }]),
    ),
    ...extra,
  };
}

/** 17 buckets of 5 s: a2 gets nothing during 10–40 s except under round-robin. */
function shares(policy: string): Record<string, number[]> {
  const down = (i: number) => i >= 2 && i < 8 && policy !== 'round-robin';
  const bucket = Array.from({ length: 17 }, (_, i) => i);
  return {
    a1: bucket.map((i) => (down(i) ? 50 : 33.3)),
    a2: bucket.map((i) => (down(i) ? 0 : 33.3)),
    a3: bucket.map((i) => (down(i) ? 50 : 33.4)),
  };
}

const HARD = {
  gateway: [6],
  oracle: [0],
  'round-robin': [1018],
  reference: [341],
  'replicas-cockatiel': [50],
  'replicas-opossum': [90],
  litellm: [30],
};
const TIER = {
  gateway: [5, 4],
  oracle: [0, 0],
  'round-robin': [2042, 2042],
  reference: [510, 508],
  'replicas-cockatiel': [102, 101],
  'replicas-opossum': [180, 179],
  litellm: [61, 60],
};
const SPIKE = Object.fromEntries(POLICIES.map((p) => [p, [0]]));

/** 25 buckets of 5 s, no fault: the gateway piles onto q1 for the first minute, round-robin splits evenly. */
function sequentialShares(policy: string): Record<string, number[]> {
  const piled = (i: number) => policy === 'gateway' && i < 12;
  const bucket = Array.from({ length: 25 }, (_, i) => i);
  return {
    q1: bucket.map((i) => (piled(i) ? 90 : 33.3)),
    q2: bucket.map((i) => (piled(i) ? 6 : 33.3)),
    q3: bucket.map((i) => (piled(i) ? 4 : 33.4)),
  };
}

/** The sequential scenario: no fault, a share series for every policy (only two are drawn). */
const SEQUENTIAL: ChartScenario = {
  name: 'sequential',
  durationS: 125,
  policies: Object.fromEntries(POLICIES.map((p) => [p, { faults: [] }])),
  shareSeries: { bucketS: 5, byPolicy: Object.fromEntries(POLICIES.map((p) => [p, sequentialShares(p)])) },
};

function report(shareSeries = true): ChartInput {
  return {
    mode: 'full',
    scenarios: [
      scenario(
        'hard-outage',
        ['a2 down'],
        HARD,
        shareSeries
          ? { shareSeries: { bucketS: 5, byPolicy: Object.fromEntries(POLICIES.map((p) => [p, shares(p)])) } }
          : {},
      ),
      scenario('latency-spike', ['s3 ×10 latency'], SPIKE),
      scenario('tier-down', ['t1 down', 't2 down'], TIER),
    ],
  };
}

const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;

/** Fails unless every tag closes in order under a single <svg> root (XML well-formedness, short of a parser). */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const stack: string[] = [];
  let roots = 0;
  for (const [, close, name, , selfClosing] of svg.matchAll(TAG)) {
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // Every '<' opens a tag the pattern above accepted: no stray markup, no unquoted attribute.
  expect(svg.match(/</g)?.length).toBe(svg.match(TAG)?.length);
  expect(svg).not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i);
}

/** The graphic items of a role (bar, area mark, rect mark, …) by their aria-label. */
function items(svg: string, role: string): { label: string; d: string; fill: string }[] {
  const pattern = new RegExp(
    `<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${role}" d="([^"]*)"[^>]*?fill="([^"]*)"`,
    'g',
  );
  return [...svg.matchAll(pattern)].map(([, label, d, fill]) => ({ label, d, fill }));
}

/** The strings drawn: each <text>, or each line (<tspan>) of a multi-line one. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<(?:text|tspan)\b[^>]*>([^<]+)<\/(?:text|tspan)>/g)].map(([, t]) => t);

/** The width of a bar drawn as M x,y h w v h h -w Z. */
const barWidth = (d: string): number => Number(/^M[\d.-]+,[\d.-]+h([\d.-]+)/.exec(d)?.[1]);

describe('failover charts', () => {
  it('failed attempts: a bar per policy and fault with its count, the faults nobody failed on left out', async () => {
    const { failedAttempts: svg } = await renderCharts(report());
    expectWellFormed(svg);
    const bars = items(svg, 'bar');
    const groups = ['hard-outage · a2 down', 'tier-down · t1 down', 'tier-down · t2 down'];
    expect(bars).toHaveLength(groups.length * POLICIES.length);
    const expected = [
      ...POLICIES.map((p) => `failed: ${HARD[p][0]}; group: ${groups[0]}; policy: ${p}`),
      ...[0, 1].flatMap((k) => POLICIES.map((p) => `failed: ${TIER[p][k]}; group: ${groups[k + 1]}; policy: ${p}`)),
    ];
    expect(bars.map((b) => b.label).sort()).toEqual(expected.sort());
    const shown = texts(svg);
    for (const label of [...groups, ...POLICIES, '1018', '2042', '6', '4']) expect(shown).toContain(label);
    // The gateway's counts, and only those, in bold.
    const counts = [...svg.matchAll(/<text aria-label="failed: (\d+); group: [^"]*; policy: ([^"]+)"[^>]*>/g)];
    expect(counts).toHaveLength(bars.length);
    for (const [tag, , policy] of counts) expect(tag.includes('font-weight="bold"')).toBe(policy === 'gateway');
    expect(shown).toContain('Left out, no failed attempt under any policy: latency-spike · s3 ×10 latency.');
    // Symlog: longer for more, round-robin's 1018 well past the gateway's 6, and 0 drawn as nothing.
    const width = (policy: string) =>
      barWidth(bars.find((b) => b.label.endsWith(`${groups[0]}; policy: ${policy}`))!.d);
    expect(width('oracle')).toBe(0);
    // On a linear axis the gateway's 6 would be 0.6 % of round-robin's 1018; on symlog about a quarter.
    expect(width('gateway')).toBeGreaterThan(width('round-robin') / 5);
    expect(width('litellm')).toBeGreaterThan(width('gateway'));
    expect(width('round-robin')).toBeGreaterThan(width('replicas-opossum'));
    expect(width('replicas-opossum')).toBeGreaterThan(width('replicas-cockatiel'));
    // A policy keeps its colour: the gateway's bars are all the gateway's blue.
    expect(new Set(bars.filter((b) => b.label.endsWith('policy: gateway')).map((b) => b.fill))).toEqual(
      new Set(['#1f77b4']),
    );
    // Every policy its own colour, the oracle grey.
    const fills = POLICIES.map((p) => bars.find((b) => b.label.endsWith(`policy: ${p}`))!.fill);
    expect(new Set(fills).size).toBe(POLICIES.length);
    expect(fills[POLICIES.indexOf('oracle')]).toBe('#8c8c8c');
  });

  it("shares: a panel per policy, an area per instance, the fault's window shaded where the scenario puts it", async () => {
    const { shares: svg } = await renderCharts(report());
    expect(svg).not.toBeNull();
    expectWellFormed(svg!);
    const shown = texts(svg!);
    for (const label of [...POLICIES, 'a1', 'a2', 'a3', 'a2 down', 'scenario time (s)']) expect(shown).toContain(label);
    expect(items(svg!, 'area mark')).toHaveLength(POLICIES.length * 3);
    // hard-outage (full) has a2 down 10–40 s of 85 s: on a 300 px wide panel, x 35.29 to 141.18.
    const windows = items(svg!, 'rect mark');
    expect(windows).toHaveLength(POLICIES.length);
    for (const w of windows) {
      expect(w.label).toBe('startS: 10; endS: 40');
      expect(w.d).toMatch(/^M35\.29\d*,0h105\.88\d*v/);
    }
  });

  it('shares in the sequential scenario: the gateway and round-robin only, below the hard outage, no fault shaded', async () => {
    const input = report();
    const { shares: svg } = await renderCharts({ ...input, scenarios: [...input.scenarios, SEQUENTIAL] });
    expectWellFormed(svg!);
    const shown = texts(svg!);
    for (const label of ['q1', 'q2', 'q3', "sequential: each instance's share of attempts over time"])
      expect(shown).toContain(label);
    expect(shown).toContain('5 s buckets, stacked; shaded: no fault. An empty bucket has no attempts.');
    // The hard outage's areas, then the sequential panels': the gateway's and round-robin's.
    const areas = items(svg!, 'area mark');
    expect(areas).toHaveLength(POLICIES.length * 3 + 2 * 3);
    // Only the hard outage's fault is shaded.
    expect(items(svg!, 'rect mark')).toHaveLength(POLICIES.length);
    // Drawn alone (a quick run without the hard outage's series), the section stands by itself.
    const { shares: alone } = await renderCharts({ mode: 'quick', scenarios: [SEQUENTIAL] });
    expectWellFormed(alone!);
    expect(items(alone!, 'area mark')).toHaveLength(2 * 3);
    expect(texts(alone!).filter((t) => POLICIES.includes(t as (typeof POLICIES)[number]))).toEqual([
      'gateway',
      'round-robin',
    ]);
  });

  it('takes the fault window from the figures when they carry it', async () => {
    const input = report();
    const hard = input.scenarios[0];
    const moved: ChartScenario = {
      ...hard,
      policies: Object.fromEntries(
        Object.entries(hard.policies).map(([p, f]) => [
          p,
          { faults: f.faults.map((x) => ({ ...x, startS: 20, endS: 30 })) },
        ]),
      ),
    };
    const { shares: svg } = await renderCharts({ ...input, scenarios: [moved] });
    expect(items(svg!, 'rect mark')[0].label).toBe('startS: 20; endS: 30');
  });

  it('renders the same bytes every time', async () => {
    const first = await renderCharts(report());
    const second = await renderCharts(report());
    expect(second).toEqual(first);
  });

  it('writes both SVGs beside the JSON, and only the bars without a share series', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failover-charts-'));
    try {
      const written = await writeCharts(report(), join(dir, 'failover.json'));
      expect(written).toEqual([join(dir, 'failover-failed-attempts.svg'), join(dir, 'failover-shares.svg')]);
      expect(readFileSync(written[1], 'utf8')).toBe((await renderCharts(report())).shares);

      const logged: string[] = [];
      const quick = join(dir, 'failover-quick.json');
      expect(await writeCharts(report(false), quick, (m) => void logged.push(m))).toEqual([
        join(dir, 'failover-quick-failed-attempts.svg'),
      ]);
      expect(logged).toEqual([
        `no shareSeries for hard-outage or sequential in ${quick}: failover-quick-shares.svg not drawn`,
      ]);
      expect(readdirSync(dir).sort()).toEqual([
        'failover-failed-attempts.svg',
        'failover-quick-failed-attempts.svg',
        'failover-shares.svg',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
