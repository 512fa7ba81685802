import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Logger, type LoggerService } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SystemClock } from '../common/clock';
import { GatewayError } from '../common/gateway-error';
import { type AppConfig, ConfigValidationError, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { DatabaseUnavailableError, ensureDatabase } from '../database/ensure-database';
import { AdminUsersService } from '../tenancy/admin-users.service';
import { AdminUserEntity } from '../tenancy/entities/admin-user.entity';
import { canonicalUsername } from '../tenancy/usernames';

/**
 * The operator's command line, on the database the gateway's environment names (`DATABASE_URL`
 * or `GATEWAY_SQLITE_PATH`, exactly as `npm start` reads them):
 *
 *   npm run admin -- reset-password [--username <name>] [--password-stdin | --from-env]
 *
 * Sets an admin user's password and signs out its sessions (its tokens stop within a second on
 * every node); on a database without any user it creates that admin, so it also replaces the
 * password the first start generated. The new password comes from standard input
 * (`--password-stdin`), from `GATEWAY_ADMIN_PASSWORD` (`--from-env`: makes the environment true
 * again when it was changed after the first start), or is generated — and then it is the only
 * thing written to standard output. Nothing else secret is printed.
 */
export const USAGE = `Usage: npm run admin -- <command>

Commands:
  reset-password [--username <name>] [--password-stdin | --from-env]
      Sets the password of admin user <name> (default: GATEWAY_ADMIN_USERNAME, else "admin") and
      signs out its sessions; on a database without users, creates that admin.
      --password-stdin  read the new password (8+ characters) from standard input
      --from-env        use GATEWAY_ADMIN_PASSWORD
      neither           generate one and print it (the only thing written to standard output)

The database is the one the gateway uses: DATABASE_URL, else GATEWAY_SQLITE_PATH (./data/gateway.sqlite).
It may run while the gateway runs.
`;

/** A refusal the operator can act on: printed as one line, exit code 1 (2 for a usage error). */
export class AdminCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ResetPasswordOptions {
  readonly username?: string;
  readonly source: 'stdin' | 'env' | 'generate';
}

/** Parses `reset-password`'s arguments. */
export function parseResetPassword(args: readonly string[]): ResetPasswordOptions {
  let username: string | undefined;
  let source: ResetPasswordOptions['source'] = 'generate';
  const setSource = (next: ResetPasswordOptions['source']): void => {
    if (source !== 'generate') throw new AdminCommandError('--password-stdin and --from-env exclude each other', 2);
    source = next;
  };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === '--username' || arg === '-u') {
      username = args[++i];
      if (!username) throw new AdminCommandError('--username needs a value', 2);
    } else if (arg.startsWith('--username=')) username = arg.slice('--username='.length);
    else if (arg === '--password-stdin') setSource('stdin');
    else if (arg === '--from-env') setSource('env');
    else throw new AdminCommandError(`Unknown option ${arg}\n\n${USAGE}`, 2);
  }
  return { username, source };
}

/** What `resetPassword` did; `generated` is the password when the command made it up. */
export interface ResetPasswordResult {
  readonly username: string;
  readonly created: boolean;
  readonly generated?: string;
}

/** Sets (or, on a database without users, creates) the admin's password. */
export async function resetPassword(
  config: AppConfig,
  options: ResetPasswordOptions,
  readStdin: () => Promise<string>,
): Promise<ResetPasswordResult> {
  const username = canonicalUsername(options.username ?? config.auth.adminUsername);
  let password: string;
  if (options.source === 'stdin') password = (await readStdin()).replace(/\r?\n$/, '');
  else if (options.source === 'env') {
    if (config.auth.adminPassword === undefined)
      throw new AdminCommandError('--from-env: GATEWAY_ADMIN_PASSWORD is not set');
    password = config.auth.adminPassword;
  } else password = randomBytes(18).toString('base64url');
  if (password.length < 8) throw new AdminCommandError('The new password must have at least 8 characters');

  await ensureDatabase(config.database);
  const dataSource = new DataSource(dataSourceOptions(config.database, [AdminUserEntity]));
  await dataSource.initialize();
  try {
    if (config.runMigrations) await dataSource.runMigrations({ transaction: 'each' });
    else if (await dataSource.showMigrations()) {
      throw new AdminCommandError(
        'The database has pending migrations and GATEWAY_MIGRATIONS_RUN=false: start the gateway first',
      );
    }
    const users = new AdminUsersService(dataSource.getRepository(AdminUserEntity), dataSource, new SystemClock());
    const existing = (await users.list()).find((user) => user.username === username);
    let created = false;
    if (existing) await users.update(existing.id, { password });
    else if ((await users.count()) === 0) {
      await users.create(username, password, 'admin');
      created = true;
    } else {
      const names = (await users.list()).map((user) => user.username).join(', ');
      throw new AdminCommandError(`There is no user '${username}' (users: ${names}); name one with --username`);
    }
    return { username, created, ...(options.source === 'generate' ? { generated: password } : {}) };
  } finally {
    await dataSource.destroy();
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

/** Warnings and errors of the database layer, on stderr; nothing else (no migration chatter). */
const quietLogger: LoggerService = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (message: unknown) => process.stderr.write(`warning: ${format(message)}\n`),
  error: (message: unknown) => process.stderr.write(`error: ${format(message)}\n`),
};

function format(message: unknown): string {
  return typeof message === 'string' ? message : inspect(message, { depth: 4, breakLength: Infinity });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command !== 'reset-password') throw new AdminCommandError(`Unknown command ${command}\n\n${USAGE}`, 2);
    const options = parseResetPassword(args);
    Logger.overrideLogger(quietLogger);
    const result = await resetPassword(loadConfig(), options, () => readAll(process.stdin));
    const what = result.created
      ? `Created admin user '${result.username}'`
      : `Reset the password of '${result.username}'`;
    const sessions = result.created ? '' : '; its sessions are signed out';
    if (result.generated !== undefined) {
      process.stderr.write(`${what} with a generated password (below; it is not stored anywhere else)${sessions}\n`);
      process.stdout.write(`${result.generated}\n`);
    } else {
      process.stderr.write(`${what}${sessions}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof AdminCommandError) {
      process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (
      error instanceof ConfigValidationError ||
      error instanceof DatabaseUnavailableError ||
      error instanceof GatewayError
    ) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`admin: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
