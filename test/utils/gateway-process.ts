import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `src/main.ts` as a real process (transpile-only ts-node: no build needed). */
export function startGateway(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves with the listening URL once the process logs it. */
export function listeningUrl(run: Run): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const match = /Listening on (http:\/\/[^\s"]+)/.exec(run.output());
      if (match) {
        cleanup();
        resolve(match[1].replace('[::1]', '127.0.0.1'));
      }
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`gateway exited before listening:\n${run.output()}`));
    };
    const cleanup = (): void => {
      run.child.stdout?.off('data', check);
      run.child.off('exit', onExit);
    };
    run.child.stdout?.on('data', check);
    run.child.on('exit', onExit);
    check();
  });
}
