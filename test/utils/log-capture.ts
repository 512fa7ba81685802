import { Writable } from 'node:stream';

/** One pino line as the app writes it (level 40 warn, 50 error). */
export interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/**
 * A log destination that keeps everything the app writes, for tests that check what reached the
 * logs (no secrets, no stack traces, the warning an operator needs). Pass it as the test app's
 * `logDestination`; nestjs-pino keeps the first app's destination for the whole file, so a file
 * usually shares one capture.
 *
 * @example
 * const capture = new LogCapture();
 * const app = await createTestApp({ logDestination: capture });
 * expect(capture.lines('publicly known')).toHaveLength(1);
 */
export class LogCapture extends Writable {
  text = '';

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  /** The lines written so far, parsed; only those containing `fragment` when it is given. */
  lines(fragment?: string): LogLine[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '' && (fragment === undefined || line.includes(fragment)))
      .map((line) => JSON.parse(line) as LogLine);
  }

  /** Forgets what was written so far. */
  clear(): void {
    this.text = '';
  }
}
