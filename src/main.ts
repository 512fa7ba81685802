import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from '@nestjs/common';
import { createApp, listeningLines } from './app-setup';
import { type AppConfig, ConfigValidationError, loadConfig } from './config/app-config';
import { DatabaseUnavailableError, ensureDatabase } from './database/ensure-database';

/** Start-up failures an operator can act on are printed as one clear line, without a stack. */
function fail(message: string): never {
  process.stderr.write(`\nAPI-Premium Gateway failed to start: ${message}\n\n`);
  process.exit(1);
}

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
    await ensureDatabase(config.database);
  } catch (error) {
    if (error instanceof ConfigValidationError || error instanceof DatabaseUnavailableError) fail(error.message);
    throw error;
  }
  const app = await createApp(config);
  // Before listening: a SIGTERM that arrives while the port opens drains and exits 0 too.
  installShutdown(app, config);
  await app.listen({ port: config.port, host: config.host });
  logWhereToFindIt(app, config);
}

function logWhereToFindIt(app: NestFastifyApplication, config: AppConfig): void {
  const address = app.getHttpServer().address();
  const bound =
    address !== null && typeof address === 'object'
      ? { address: address.address, port: address.port }
      : { address: config.host, port: config.port };
  const logger = new Logger('Gateway');
  for (const line of listeningLines(bound, config)) logger.log(line);
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, flush, close the database,
 * exit 0. Nest's own shutdown hooks re-raise the signal (exit 143), which orchestrators read as
 * a crash; this exits cleanly instead, and hard-exits if draining takes too long.
 */
function installShutdown(app: NestFastifyApplication, config: AppConfig): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    new Logger('Shutdown').log(`Received ${signal}: draining and shutting down`);
    const timer = setTimeout(() => {
      process.stderr.write(`Shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting\n`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `API-Premium Gateway failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
