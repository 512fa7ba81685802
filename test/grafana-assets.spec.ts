import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { load } from 'js-yaml';
import { GatewayMetrics } from '../src/prometheus/gateway-metrics';
import { createTestApp, type TestApp } from './utils/test-app';

/**
 * The shipped Grafana dashboard and Prometheus alert rules (docs/grafana/) checked the way
 * `promtool check rules` and an import would: every PromQL expression parses with the Prometheus
 * project's own grammar (@prometheus-io/lezer-promql), names only metrics and labels this gateway
 * exposes, and the rule and dashboard structures are complete.
 */

const GRAFANA = join(__dirname, '..', 'docs', 'grafana');
const RULES_FILE = join(GRAFANA, 'api-premium-gateway.rules.yml');
/** Rule unit tests for `promtool test rules` (input series → the alerts expected at given times). */
const RULES_TEST_FILE = join(GRAFANA, 'api-premium-gateway.rules.test.yml');
const DASHBOARD_FILE = join(GRAFANA, 'api-premium-gateway.dashboard.json');

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Labels Prometheus itself adds to every scraped series. */
const TARGET_LABELS = ['instance', 'job'];
/** Prometheus duration: one or more number+unit pairs, largest unit first. */
const DURATION = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
/** Functions that take a range vector (a `[5m]` selector or a subquery). */
const RANGE_FUNCTIONS = new Set([
  'Rate',
  'Irate',
  'Increase',
  'Delta',
  'Idelta',
  'Deriv',
  'Changes',
  'Resets',
  'AvgOverTime',
  'MinOverTime',
  'MaxOverTime',
  'SumOverTime',
  'CountOverTime',
  'LastOverTime',
  'StddevOverTime',
  'QuantileOverTime',
  'PresentOverTime',
]);

/** Exposed sample names (histograms as their _bucket/_sum/_count) → the labels they carry. */
type Exposed = ReadonlyMap<string, ReadonlySet<string>>;

interface PromQlFacts {
  readonly errors: string[];
  readonly metrics: Set<string>;
  /** Label names in selectors, by metric. */
  readonly matchers: [metric: string, label: string][];
  /** Label names in by/without/on/ignoring/group_left/group_right. */
  readonly grouping: Set<string>;
}

/** Parses one expression and collects what it names; `errors` lists syntax and shape problems. */
function analyse(expr: string): PromQlFacts {
  const facts: PromQlFacts = { errors: [], metrics: new Set(), matchers: [], grouping: new Set() };
  const text = (node: SyntaxNode) => expr.slice(node.from, node.to);
  const tree = parser.parse(expr);
  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (ref.type.isError) facts.errors.push(`syntax error at ${ref.from}: "${expr.slice(ref.from, ref.from + 30)}"`);
      if (ref.name === 'VectorSelector') {
        const id = node.getChild('Identifier');
        if (id === null) return;
        const metric = text(id);
        facts.metrics.add(metric);
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
          const label = matcher.getChild('LabelName');
          if (label !== null) facts.matchers.push([metric, text(label)]);
        }
      }
      if (ref.name === 'GroupingLabels') {
        for (const label of node.getChildren('LabelName')) facts.grouping.add(text(label));
      }
      if (ref.name === 'FunctionCall') {
        const fn = node.getChild('FunctionIdentifier')?.firstChild?.name ?? '';
        const args = node.getChild('FunctionCallBody');
        const last = args?.lastChild?.prevSibling ?? args?.lastChild; // skip the closing ")"
        const argument = args?.getChildren('MatrixSelector').length || args?.getChildren('SubqueryExpr').length;
        if (RANGE_FUNCTIONS.has(fn) && !argument) {
          facts.errors.push(`${fn} needs a range vector, got "${last ? text(last) : ''}"`);
        }
        if (fn === 'HistogramQuantile' && !/by \([^)]*\ble\b[^)]*\)/.test(args ? text(args) : '')) {
          facts.errors.push('histogram_quantile over buckets not aggregated "by (…, le)"');
        }
      }
    },
  });
  return facts;
}

/** Problems with the metrics and labels an expression names, against what the gateway exposes. */
function unknownNames(expr: string, exposed: Exposed): string[] {
  const facts = analyse(expr);
  const problems = [...facts.errors];
  for (const metric of facts.metrics) if (!exposed.has(metric)) problems.push(`unknown metric ${metric}`);
  const known = new Set(TARGET_LABELS);
  for (const metric of facts.metrics) for (const label of exposed.get(metric) ?? []) known.add(label);
  for (const [metric, label] of facts.matchers) {
    if (!TARGET_LABELS.includes(label) && exposed.get(metric)?.has(label) === false) {
      problems.push(`${metric} has no label ${label}`);
    }
  }
  for (const label of facts.grouping) if (!known.has(label)) problems.push(`no metric here has a label ${label}`);
  return problems;
}

/** Grafana's variables replaced by values of their kind, so the expression is plain PromQL. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?(project|api_identifier)\}?/g, '.*');
}

/** Every sample name the registry renders, with its labels. */
function exposedBy(metrics: GatewayMetrics): Exposed {
  const exposed = new Map<string, Set<string>>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name, labelNames, type } = metric as unknown as { name: string; labelNames: string[]; type: string };
    const labels = new Set(labelNames);
    if (type === 'histogram') {
      exposed.set(`${name}_bucket`, new Set([...labels, 'le']));
      exposed.set(`${name}_sum`, labels);
      exposed.set(`${name}_count`, labels);
    } else if (type === 'summary') {
      exposed.set(name, new Set([...labels, 'quantile']));
      exposed.set(`${name}_sum`, labels);
      exposed.set(`${name}_count`, labels);
    } else {
      exposed.set(name, labels);
    }
  }
  return exposed;
}

interface Rule {
  readonly alert?: unknown;
  readonly record?: unknown;
  readonly expr?: unknown;
  readonly for?: unknown;
  readonly labels?: Record<string, unknown>;
  readonly annotations?: Record<string, unknown>;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly targets?: { refId: string; expr: string; legendFormat?: string; datasource?: { uid: string } }[];
}

const rulesFile = load(readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const rules = rulesFile.groups.flatMap((group) => group.rules.map((rule) => ({ group: group.name, rule })));
const rulesTests = load(readFileSync(RULES_TEST_FILE, 'utf8')) as {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[] }[];
};
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: unknown; datasource?: { uid: string } }[] };
  panels: Panel[];
};
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

describe('PromQL checks of this test (the checker itself)', () => {
  it.each([
    ['sum(rate(gateway_reports_total[5m])', 'syntax error'],
    ['sum(rate(gateway_report_total[5m]))', 'unknown metric gateway_report_total'],
    ['sum(rate(gateway_reports_total{outcom="SUCCESS"}[5m]))', 'gateway_reports_total has no label outcom'],
    ['sum by (instanceid) (rate(gateway_instance_calls_total[5m]))', 'no metric here has a label instanceid'],
    ['rate(gateway_reports_total)', 'Rate needs a range vector'],
    ['histogram_quantile(0.9, sum by (instance_id) (rate(gateway_instance_latency_ms_bucket[5m])))', 'by (…, le)'],
    ['no_such_function(gateway_reports_total)', 'syntax error'],
  ])('rejects %s', (expr, problem) => {
    expect(unknownNames(expr, exposed).join('\n')).toContain(problem);
  });

  it('accepts what the gateway exposes, with target labels and histogram suffixes', () => {
    const expr =
      'histogram_quantile(0.99, sum by (instance, le) (rate(gateway_instance_latency_ms_bucket{job="gw"}[5m])))';
    expect(unknownNames(expr, exposed)).toEqual([]);
  });
});

let gateway: TestApp;
let exposed: Exposed = new Map();

beforeAll(async () => {
  gateway = await createTestApp();
  exposed = exposedBy(gateway.app.get(GatewayMetrics));
});
afterAll(() => gateway.close());

describe('docs/grafana: Prometheus alert rules', () => {
  it('has groups of rules, each alert with expr, for, a severity and a summary and description', () => {
    expect(rulesFile.groups.length).toBeGreaterThan(0);
    expect(new Set(rulesFile.groups.map((group) => group.name)).size).toBe(rulesFile.groups.length);
    const names = rules.map(({ rule }) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const { rule } of rules) {
      expect(
        Object.keys(rule).filter((key) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(key)),
      ).toEqual([]);
      expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(typeof rule.expr).toBe('string');
      expect(rule.for).toMatch(DURATION);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.stringMatching(/\S/));
      expect(rule.annotations?.description).toEqual(expect.stringMatching(/\S/));
    }
  });

  it('covers breaker open, success rate drop, quota exhaustion and a failing write-behind', () => {
    const exprs = rules.map(({ rule }) => String(rule.expr));
    expect(exprs.some((expr) => /gateway_breaker_state\) == 2/.test(expr))).toBe(true);
    expect(exprs.some((expr) => expr.includes('gateway_quota_remaining'))).toBe(true);
    expect(exprs.some((expr) => expr.includes('result="QUOTA_EXHAUSTED"'))).toBe(true);
    expect(exprs.some((expr) => expr.includes('gateway_metrics_flush_failures_total'))).toBe(true);
    expect(exprs.some((expr) => expr.includes('gateway_metrics_dropped_rows_total'))).toBe(true);
    const breaker = rules.find(({ rule }) => rule.alert === 'GatewayBreakerOpen')?.rule;
    expect(breaker?.for).toBe('1m');
  });

  it('computes the success rate as SUCCESS / every report × 100, with a minimum of traffic', () => {
    const rule = rules.find(({ rule: one }) => String(one.expr).includes('outcome="SUCCESS"'))?.rule;
    const expr = String(rule?.expr).replace(/\s+/g, ' ');
    expect(expr).toContain(
      '100 * sum by (instance_id) (rate(gateway_instance_calls_total{outcome="SUCCESS"}[5m])) / sum by (instance_id) (rate(gateway_instance_calls_total[5m]))',
    );
    expect(expr).toMatch(
      /and on\(instance_id\) \(sum by \(instance_id\) \(increase\(gateway_instance_calls_total\[5m\]\)\) >= \d+\)/,
    );
  });

  it('names the backend by business id through gateway_instance_info in every per-backend alert', () => {
    for (const { rule } of rules.filter(({ rule: one }) => String(one.expr).includes('instance_id'))) {
      expect(String(rule.expr)).toMatch(
        /group_left\([^)]*business_id[^)]*\)\s*topk by \(instance_id\) \(1, gateway_instance_info\)/,
      );
      expect(String(rule.annotations?.summary)).toContain('{{ $labels.business_id }}');
    }
  });

  it('every expression parses as PromQL and names only metrics and labels the gateway exposes', () => {
    expect(exposed.has('gateway_instance_calls_total')).toBe(true);
    const problems = rules.flatMap(({ rule }) =>
      unknownNames(String(rule.expr), exposed).map((problem) => `${String(rule.alert)}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });

  it('has rule unit tests with a case where each alert fires and one where it must not', () => {
    expect(rulesTests.rule_files).toEqual(['api-premium-gateway.rules.yml']);
    const cases = rulesTests.tests.flatMap((test) => test.alert_rule_test ?? []);
    const missing: string[] = [];
    for (const { rule } of rules) {
      const own = cases.filter((one) => one.alertname === rule.alert);
      const firing = own.filter((one) => (one.exp_alerts ?? []).length > 0);
      if (firing.length === 0) missing.push(`${String(rule.alert)}: no case where it fires`);
      if (firing.length === own.length) missing.push(`${String(rule.alert)}: no case where it must not fire`);
    }
    expect(missing).toEqual([]);
  });

  // Prometheus's own checker and rule unit tester, where installed (Debian: the `prometheus` package); the grammar
  // checks above run everywhere. .ci/run installs it, so under CI=true a missing promtool fails instead of skipping.
  const promtool = spawnSync('promtool', ['--version']).status === 0;
  /** Runs promtool and expects exit 0 and SUCCESS; on failure Jest prints promtool's whole output as the received value. */
  const expectPromtoolSuccess = (...args: string[]) => {
    if (!promtool) throw new Error("promtool is not on PATH (CI=true): install Debian's `prometheus` package");
    const run = spawnSync('promtool', args, { encoding: 'utf8' });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status === 0 && output.includes('SUCCESS') ? 'SUCCESS' : `exit ${run.status}\n${output}`).toBe(
      'SUCCESS',
    );
  };
  const withPromtool = promtool || process.env.CI === 'true' ? it : it.skip;
  withPromtool('passes promtool check rules', () => {
    expectPromtoolSuccess('check', 'rules', RULES_FILE);
  });

  // docs/grafana/api-premium-gateway.rules.test.yml: on failure promtool names the alert, the eval_time, and the
  // alerts (labels and rendered annotations) expected and those that fired.
  withPromtool('passes its rule unit tests (promtool test rules)', () => {
    expectPromtoolSuccess('test', 'rules', RULES_TEST_FILE);
  });

  it('annotations only use labels the expression keeps', () => {
    const problems: string[] = [];
    for (const { rule } of rules) {
      const expr = String(rule.expr);
      const used = Object.values(rule.annotations ?? {}).flatMap((text) =>
        [...String(text).matchAll(/\$labels\.(\w+)/g)].map(([, label]) => label),
      );
      for (const label of used) {
        if (!TARGET_LABELS.includes(label) && !new RegExp(`\\b${label}\\b`).test(expr)) {
          problems.push(`${String(rule.alert)}: $labels.${label} is not in the expression`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('docs/grafana: dashboard', () => {
  it('is a Grafana dashboard with a datasource variable and project / API identifier variables from the info metric', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(JSON.stringify(variables.get('project')?.query)).toContain(
      'label_values(gateway_instance_info, project_id)',
    );
    expect(JSON.stringify(variables.get('api_identifier')?.query)).toContain('gateway_instance_info');
    expect(variables.get('api_identifier')?.datasource?.uid).toBe('${datasource}');
  });

  it('has unique panel ids, panels inside the 24-column grid that do not overlap', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Set<string>();
    for (const { gridPos, title } of dashboard.panels) {
      expect(gridPos.x + gridPos.w).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(taken.has(`${x},${y}`) ? `${title} overlaps at ${x},${y}` : '').toBe('');
          taken.add(`${x},${y}`);
        }
      }
    }
  });

  it('shows the fleet, per-backend success rate, latency p50–p99, traffic share, breaker timeline, rate limits, error classes', () => {
    const titles = queryPanels.map((panel) => panel.title);
    for (const wanted of [
      /calls \/ s/i,
      /success rate \(all/i,
      /open breakers/i,
      /success rate by backend/i,
      /p50/,
      /p95/,
      /p99/,
      /traffic share/i,
      /rate-limited share/i,
      /error classes/i,
    ]) {
      expect(titles.some((title) => wanted.test(title)) ? String(wanted) : `no panel ${String(wanted)}`).toBe(
        String(wanted),
      );
    }
    expect(queryPanels.find((panel) => panel.type === 'state-timeline')?.title).toMatch(/breaker/i);
  });

  it('every panel queries the chosen datasource, and every query parses and names what the gateway exposes', () => {
    const problems: string[] = [];
    for (const panel of queryPanels) {
      if (panel.datasource?.uid !== '${datasource}') problems.push(`${panel.title}: datasource`);
      if (!panel.targets?.length) problems.push(`${panel.title}: no targets`);
      for (const target of panel.targets ?? []) {
        if (target.datasource !== undefined && target.datasource.uid !== '${datasource}') {
          problems.push(`${panel.title} ${target.refId}: datasource`);
        }
        for (const problem of unknownNames(withoutGrafanaVariables(target.expr), exposed)) {
          problems.push(`${panel.title} ${target.refId}: ${problem}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('names backends by business id (joined on gateway_instance_info) wherever a legend shows one', () => {
    for (const target of queryPanels.flatMap((panel) => panel.targets ?? [])) {
      if (!target.legendFormat?.includes('business_id')) continue;
      expect(target.expr).toMatch(
        /\* on\(instance_id\) group_left\([^)]*business_id[^)]*\) topk by \(instance_id\) \(1, gateway_instance_info/,
      );
    }
  });
});
