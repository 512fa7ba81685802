/**
 * Noisy-neighbour benchmark (issue #15): does a hostile tenant slow another tenant's selects?
 *
 *   npm run bench:abuse -- [--duration 10] [--warmup 5] [--connections 5] [--database mysql://…]
 *     [--only explain,batch,login,metrics,all] [--wide 5000] [--explain-connections 4]
 *     [--batch-size 1000] [--login-connections 16] [--spoof-share 0.75] [--scrapers 4]
 *     [--hostile-nice 10] [--cpu-prof <dir>]
 *
 * 1. Starts the built gateway (`node dist/main.js`) as a child: SQLite in a temp dir, or with
 *    `--database` a MySQL/MariaDB URL (without a database name: a fresh `bench_abuse_<hex>`,
 *    dropped afterwards); `GATEWAY_METRICS_TOKEN` set; `GATEWAY_TRUST_PROXY=127.0.0.1`, as behind
 *    a proxy on the same host, so that logins can come from many client addresses; every limit at
 *    its default.
 * 2. Seeds over HTTP (fixture.ts): the victim's project (10 instances), the hostile tenant's wide
 *    project (--wide instances under one identifier, registered 1000 per batch) and its batch
 *    project; warms the victim's select up for --warmup s.
 * 3. Phases, each --duration s of the victim's select load (autocannon, --connections 5: ADR 0004)
 *    while the hostile driver (hostile.ts, a child process at nice --hostile-nice) attacks:
 *    quiet (no attack: the reference), explain, batch, login, metrics, all four at once, and
 *    quiet again (after-effects). The driver starts before the victim's load and is measured over
 *    the same window.
 * 4. Verdicts (report.ts): in every phase the victim's select p99 ≤ 3× the quiet phase's, and no
 *    non-2xx, errors or timeouts. Prints the victim's figures and the hostile streams' (req/s,
 *    status mix), writes bench/results/abuse.{json,md} (abuse-mysql.{json,md} with --database) on
 *    full runs (not with --only or --cpu-prof). Exits 0 when every verdict passes, 1 when one fails, 2 on bad flags, 3 when the
 *    run breaks, 130 on SIGINT.
 *
 * Why the hostile driver runs niced: in production the attacker's client work runs on the
 * attacker's machines; here it shares the two cores with the gateway and the victim's load
 * generator. At nice 10 it still sends as fast as the gateway answers when the cores have room,
 * but it does not take CPU from the gateway's own work to build its requests. `--hostile-nice 0`
 * measures without that.
 *
 * With --cpu-prof the gateway runs under `node --cpu-prof` and the closing quiet phase is skipped,
 * so `cpuprofile-summary.ts <file> --last <duration>` covers the last phase run.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mysqlAdmin } from '../cluster/cluster';
import { rssMb } from '../http/children';
import { machine, sourceVersion } from '../http/report';
import { type LoadOptions, selectRequests } from '../http/scenarios';
import { Session, childEnv, endRun, failedRun, gatewayEnv } from '../http/session';
import {
  ATTACKS,
  type Attack,
  type FromDriver,
  type HostileConfig,
  type HostileFigures,
  loginUsernames,
} from './attacks';
import { VICTIM, explainSample, seedTenants } from './fixture';
import { type AbuseReport, type PhaseResult, consoleReport, verdicts, writeResults } from './report';

const ROOT = resolve(__dirname, '..', '..');
const ADMIN = { adminUsername: 'abuse-admin', adminPassword: 'bench-abuse-admin-password' };
const METRICS_TOKEN = `bench-metrics-${randomBytes(12).toString('hex')}`;
const PHASE_NAMES = [...ATTACKS, 'all'] as const;
type PhaseName = (typeof PHASE_NAMES)[number];
const DRIVER_TIMEOUT_MS = 60_000;

interface Options {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  readonly database?: string;
  readonly only: readonly PhaseName[];
  readonly wide: number;
  readonly explainConnections: number;
  readonly batchSize: number;
  readonly loginConnections: number;
  readonly spoofShare: number;
  readonly scrapers: number;
  readonly hostileNice: number;
  readonly cpuProfDir?: string;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: text,
      warmup: text,
      connections: text,
      database: text,
      only: text,
      wide: text,
      'explain-connections': text,
      'batch-size': text,
      'login-connections': text,
      'spoof-share': text,
      scrapers: text,
      'hostile-nice': text,
      'cpu-prof': text,
    },
    strict: true,
  });
  const number = (name: keyof typeof values, fallback: number, min: number, max: number): number => {
    const value = Number(values[name] ?? fallback);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new UsageError(`--${name} takes a number from ${min} to ${max}`);
    }
    return value;
  };
  const only = (values.only ?? PHASE_NAMES.join(',')).split(',').map((name) => name.trim());
  const unknown = only.filter((name) => !(PHASE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`--only takes ${PHASE_NAMES.join(',')}; not ${unknown.join(',')}`);
  if (values.database !== undefined && !values.database.startsWith('mysql://')) {
    throw new UsageError('--database takes a mysql:// URL (SQLite is the default)');
  }
  return {
    duration: number('duration', 10, 1, 600),
    warmup: number('warmup', 5, 0, 600),
    connections: number('connections', 5, 1, 1000),
    database: values.database,
    only: only as PhaseName[],
    wide: number('wide', 5000, 1, 1_000_000),
    explainConnections: number('explain-connections', 4, 1, 1000),
    batchSize: number('batch-size', 1000, 1, 1_000_000),
    loginConnections: number('login-connections', 16, 1, 1000),
    spoofShare: number('spoof-share', 0.75, 0, 1),
    scrapers: number('scrapers', 4, 1, 1000),
    hostileNice: number('hostile-nice', 10, 0, 19),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

const log = (message: string): void => void process.stderr.write(`[abuse-bench] ${message}\n`);

/** The hostile driver child (hostile.ts) over IPC; see its header for the protocol. */
class HostileDriver {
  private readonly messages: FromDriver[] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromDriver) => {
      this.messages.push(message);
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.on('exit', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Forks the driver at `nice`, starts the attacks, and resolves once every stream was answered. */
  static async start(config: HostileConfig, nice: number): Promise<HostileDriver> {
    const child = fork(join(__dirname, 'hostile.ts'), [], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: childEnv({}),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const driver = new HostileDriver(child);
    running = driver;
    if (child.pid !== undefined && nice > 0) setPriority(child.pid, nice);
    child.send({ type: 'attack', config });
    const ready = await driver.next('ready');
    if (ready.late.length > 0) log(`hostile streams without an answer yet: ${ready.late.join(', ')}`);
    return driver;
  }

  measure(): void {
    this.child.send({ type: 'measure' });
  }

  /** Stops every stream; the figures of the measured window. */
  async stop(): Promise<HostileFigures> {
    this.child.send({ type: 'stop' });
    const { figures } = await this.next('figures');
    await this.exited();
    return figures;
  }

  /** Idempotent; for an interrupted run. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((done) => this.child.once('exit', () => done()));
  }

  private async next<T extends FromDriver['type']>(type: T): Promise<Extract<FromDriver, { type: T }>> {
    const deadline = Date.now() + DRIVER_TIMEOUT_MS;
    for (;;) {
      const at = this.messages.findIndex((message) => message.type === type);
      if (at >= 0) return this.messages.splice(at, 1)[0] as Extract<FromDriver, { type: T }>;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the hostile driver exited (${this.child.exitCode ?? this.child.signalCode}) before '${type}'`);
      }
      if (Date.now() > deadline) throw new Error(`the hostile driver sent no '${type}' in time`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 1000);
      });
    }
  }
}

/** The driver of the phase in progress, killed on SIGINT or failure. */
let running: HostileDriver | undefined;

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The database the gateway gets, and how to clean up after it. */
function databaseOf(options: Options, tmp: string): { env: Record<string, string>; label: string; drop?: string } {
  if (!options.database) {
    return { env: { GATEWAY_SQLITE_PATH: join(tmp, 'gateway.sqlite') }, label: 'SQLite (temp dir)' };
  }
  const url = new URL(options.database);
  const given = url.pathname.replace(/^\/+/, '');
  if (given) return { env: { DATABASE_URL: url.toString() }, label: `MySQL ${url.host}/${given}` };
  const schema = `bench_abuse_${randomBytes(4).toString('hex')}`;
  url.pathname = `/${schema}`;
  return { env: { DATABASE_URL: url.toString() }, label: `MySQL ${url.host}/${schema} (fresh)`, drop: schema };
}

async function main(options: Options, session: Session, tmp: string, uptimeBefore: string): Promise<AbuseReport> {
  const dist = join(ROOT, 'dist', 'main.js');
  if (!existsSync(dist)) throw new Error(`${dist} not found: run \`npm run build\` first`);
  const database = databaseOf(options, tmp);
  const profile = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  log(
    `starting the gateway on ${database.label}${options.cpuProfDir ? ` under --cpu-prof (${options.cpuProfDir})` : ''}`,
  );
  try {
    const gateway = await session.start('gateway', {
      name: 'gateway',
      args: [...profile, dist],
      env: gatewayEnv(ADMIN, {
        ...database.env,
        GATEWAY_METRICS_TOKEN: METRICS_TOKEN,
        GATEWAY_TRUST_PROXY: '127.0.0.1',
      }),
      readyPath: '/api/health/ready',
      timeoutMs: 60_000,
    });
    log(`gateway pid ${gateway.pid} at ${gateway.url}; seeding (${options.wide} wide instances)`);
    const tenants = await seedTenants(gateway.url, ADMIN, options.wide);
    const sample = await explainSample(gateway.url, tenants.wideKey);
    log(`one explain answer over ${sample.total} candidates: ${sample.bytes} bytes, ${sample.listed} listed`);
    const load: LoadOptions = { url: gateway.url, connections: options.connections, duration: options.duration };
    const victimRequests = selectRequests(tenants.victim);
    if (options.warmup > 0) {
      log(`warming up: ${options.warmup} s of the victim's select`);
      await session.load(gateway.pid, 'warm-up', victimRequests, { ...load, duration: options.warmup, rotate: true });
    }
    const config: Omit<HostileConfig, 'attacks'> = {
      url: gateway.url,
      wideKey: tenants.wideKey,
      batchKey: tenants.batchKey,
      explainConnections: options.explainConnections,
      batchSize: options.batchSize,
      loginConnections: options.loginConnections,
      usernames: loginUsernames(ADMIN.adminUsername),
      spoofShare: options.spoofShare,
      scrapers: options.scrapers,
      metricsToken: METRICS_TOKEN,
    };
    const plan: { phase: string; attacks: readonly Attack[] }[] = [
      { phase: 'quiet', attacks: [] },
      ...options.only.map((phase) => ({ phase, attacks: phase === 'all' ? ATTACKS : [phase] })),
      ...(options.cpuProfDir ? [] : [{ phase: 'quiet again', attacks: [] }]),
    ];
    const phases: PhaseResult[] = [];
    for (const { phase, attacks } of plan) {
      session.check();
      log(`phase ${phase}${attacks.length > 0 ? ` (${attacks.join(' + ')})` : ''}: ${options.duration} s`);
      const driver =
        attacks.length > 0 ? await HostileDriver.start({ ...config, attacks }, options.hostileNice) : undefined;
      driver?.measure();
      const victim = await session.load(gateway.pid, `victim select, ${phase}`, victimRequests, {
        ...load,
        rotate: true,
      });
      const hostile = await driver?.stop();
      running = undefined;
      phases.push({ phase, attacks, victim, hostile, gatewayRssMb: rssMb(gateway.pid) });
      log(
        `  victim p50 ${victim.p50Ms} ms, p99 ${victim.p99Ms} ms, ${victim.reqPerSec} req/s, non-2xx ${victim.non2xx}`,
      );
    }
    const checks = verdicts(phases);
    return {
      date: new Date().toISOString(),
      node: process.version,
      command: ['npm run bench:abuse', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      machine: machine(),
      source: sourceVersion(ROOT),
      uptimeBefore,
      database: database.label,
      config: {
        duration: options.duration,
        warmupSeconds: options.warmup,
        victimConnections: options.connections,
        wideInstances: options.wide,
        explainConnections: options.explainConnections,
        batchSize: options.batchSize,
        loginConnections: options.loginConnections,
        spoofShare: options.spoofShare,
        scrapers: options.scrapers,
        hostileNice: options.hostileNice,
      },
      fixture: {
        victimInstances: tenants.victim.tenants[0].instances.length,
        victimIdentifiers: VICTIM.identifiers,
        wideInstances: tenants.wideInstances,
      },
      explainSample: sample,
      phases,
      checks,
      pass: checks.every((check) => check.pass),
    };
  } finally {
    running?.kill();
    await session.stopGateway();
    if (database.drop && options.database) {
      await mysqlAdmin(options.database, `DROP DATABASE IF EXISTS \`${database.drop}\``).catch((error: unknown) =>
        log(`could not drop ${database.drop}: ${String(error)}`),
      );
    }
  }
}

async function run(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const uptimeBefore = uptime();
  log(`before the run: ${uptimeBefore}`);
  const tmp = mkdtempSync(join(tmpdir(), 'gw-abuse-bench-'));
  const session = new Session();
  const onSigint = (): void => {
    if (session.aborted) process.exit(130);
    session.aborted = true;
    log('SIGINT: stopping the load, the hostile driver and the gateway (^C again to leave at once)');
    running?.kill();
    void session.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await main(options, session, tmp, uptimeBefore);
    process.stdout.write(`\n${consoleReport(report)}\n`);
    if (options.only.length === PHASE_NAMES.length && !options.cpuProfDir) {
      const name = options.database ? 'abuse-mysql' : 'abuse';
      writeResults(report, join(ROOT, `bench/results/${name}.json`), join(ROOT, `bench/results/${name}.md`));
      log(`wrote bench/results/${name}.json and bench/results/${name}.md`);
    } else {
      log('partial or profiled run: bench/results not written');
    }
    return report.pass ? 0 : 1;
  } catch (error) {
    return failedRun('abuse-bench', session, error, 3);
  } finally {
    await endRun('abuse-bench', session, tmp, onSigint, options.cpuProfDir);
  }
}

void run().then((code) => process.exit(code));
