import { inspect } from 'node:util';
import { Logger, type LoggerService } from '@nestjs/common';

/**
 * Nest's logger in specs that run without the app's pino logger (classes built with `new`, bare
 * testing modules, DataSources): Nest's default console logger would print every migration at
 * debug, and each error a spec provokes on purpose as an ERROR block with its stack trace — in a
 * passing run. Here the messages are recorded instead:
 *
 * - debug, verbose and log messages are never printed;
 * - a warning or error the test expects is taken with {@link nestLogs}.take(), which is also how
 *   the spec asserts it was logged;
 * - any other warning or error is printed after its test, with the test's name: an unexpected one
 *   stays visible.
 *
 * Installed for every spec by Jest's `setupFilesAfterEnv`; importing this file installs it too.
 * An app built by `createTestApp` logs through pino instead (`LOG_LEVEL=silent` unless a test
 * captures it with LogCapture).
 *
 * @example
 * bus.publish({ type: 'apikey.changed', keyHash: 'k' });
 * expect(nestLogs.take('error', 'An event subscriber failed')).toHaveLength(1);
 */
export type NestLogLevel = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';

export interface NestLogEntry {
  readonly level: NestLogLevel;
  readonly context?: string;
  /** The message and its parameters as one line of text (errors with their message, no stack). */
  readonly text: string;
  /** What was logged, unformatted (e.g. `{ err, event }`). */
  readonly message: unknown;
  readonly params: readonly unknown[];
}

const LOUD: ReadonlySet<NestLogLevel> = new Set(['warn', 'error', 'fatal']);

/** One line: an error as its name and message (no stack), an object with its errors so. */
function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const fields = Object.entries(value).map(
      ([key, field]) =>
        `${key}: ${field instanceof Error ? describe(field) : inspect(field, { depth: 2, breakLength: Infinity })}`,
    );
    return `{ ${fields.join(', ')} }`;
  }
  return inspect(value, { depth: 2, breakLength: Infinity });
}

class NestLogRecorder implements LoggerService {
  entries: NestLogEntry[] = [];
  private readonly taken = new Set<NestLogEntry>();

  private record(level: NestLogLevel, message: unknown, params: unknown[]): void {
    const last = params[params.length - 1];
    const context = typeof last === 'string' ? last : undefined;
    const rest = context === undefined ? params : params.slice(0, -1);
    const text = [message, ...rest].map(describe).join(' ');
    this.entries.push({ level, context, text, message, params: rest });
  }

  log(message: unknown, ...params: unknown[]): void {
    this.record('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.record('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.record('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.record('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.record('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.record('fatal', message, params);
  }

  take(level: NestLogLevel, fragment: string): NestLogEntry[] {
    const found = this.entries.filter((entry) => entry.level === level && entry.text.includes(fragment));
    for (const entry of found) this.taken.add(entry);
    return found;
  }

  /** The warnings and errors nobody took, then forgets everything recorded. */
  drain(): NestLogEntry[] {
    const untaken = this.entries.filter((entry) => LOUD.has(entry.level) && !this.taken.has(entry));
    this.entries = [];
    this.taken.clear();
    return untaken;
  }
}

const INSTALLED = Symbol.for('api-premium-gateway.nest-logs');
type Installed = typeof globalThis & { [INSTALLED]?: NestLogRecorder };

function install(): NestLogRecorder {
  const global = globalThis as Installed;
  const existing = global[INSTALLED];
  if (existing) return existing;
  const recorder = new NestLogRecorder();
  global[INSTALLED] = recorder;
  Logger.overrideLogger(recorder);
  // An app a spec starts replaces this logger with its pino logger (its logs go there), and a
  // spec may install its own recorder: neither is undone here.
  const report = (): void => {
    for (const entry of recorder.drain()) {
      const where = expect.getState().currentTestName ?? 'outside a test';
      const line = `[${where}] Nest ${entry.level}${entry.context ? ` [${entry.context}]` : ''}: ${entry.text}`;
      if (entry.level === 'warn') console.warn(line);
      else console.error(line);
    }
  };
  afterEach(report);
  afterAll(report);
  return recorder;
}

const recorder = install();

/** What Nest's logger recorded in the current test (see the file comment). */
export const nestLogs = {
  /** The entries at `level` whose text contains `fragment`, marked as expected (not printed). */
  take: (level: NestLogLevel, fragment: string): NestLogEntry[] => recorder.take(level, fragment),
  /** Everything recorded since the current test started. */
  entries: (): readonly NestLogEntry[] => recorder.entries,
};
