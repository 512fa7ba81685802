import type { ModuleMetadata } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { configureApp, createAdapter } from '../../src/app-setup';
import { AppModule } from '../../src/app.module';
import { Clock, FakeClock } from '../../src/common/clock';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { sqliteDatabase, type TestDatabase } from './test-database';

/** The admin every test app is bootstrapped with. */
export const TEST_ADMIN = { username: 'admin', password: 'admin-test-password' } as const;

export interface TestAppOptions {
  readonly database?: TestDatabase;
  /** Extra environment variables (on top of quiet logging and the database's). */
  readonly env?: Record<string, string>;
  readonly clock?: FakeClock;
  /** Receives every log line (JSON), e.g. to prove secrets never reach the logs. */
  readonly logDestination?: DestinationStream;
  /** Extra controllers/providers for a test (e.g. a route that throws). */
  readonly extra?: Pick<ModuleMetadata, 'controllers' | 'providers' | 'imports'>;
}

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  readonly clock: FakeClock;
  /** A supertest agent over real HTTP to the app. */
  http(): TestAgent;
  close(): Promise<void>;
}

/** Boots the real AppModule over HTTP, exactly as `main.ts` configures it, on a fresh database. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? sqliteDatabase();
  const clock = options.clock ?? new FakeClock();
  const env = {
    LOG_LEVEL: 'silent',
    LOG_PRETTY: 'false',
    GATEWAY_ADMIN_USERNAME: TEST_ADMIN.username,
    GATEWAY_ADMIN_PASSWORD: TEST_ADMIN.password,
    // Minute metrics are written when a test flushes them, not by a timer racing its assertions.
    GATEWAY_METRICS_FLUSH_MS: '60000',
    // Suites log in far more often than people do (a token per test); the node-wide rate of password
    // checks has its own tests (test/abuse/auth-rate.e2e-spec.ts).
    GATEWAY_LOGIN_HASHES_PER_SECOND: '0',
    ...(await database.prepare()),
    ...options.env,
  };
  const config = loadConfig(env);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config, { logDestination: options.logDestination }), ...(options.extra?.imports ?? [])],
    controllers: options.extra?.controllers ?? [],
    providers: options.extra?.providers ?? [],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(config), { bufferLogs: true });
  try {
    configureApp(app, config);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    // A half-started app would keep connections and timers open and hang Jest at exit.
    await app.close().catch(() => undefined);
    await database.dispose();
    throw error;
  }
  return {
    app,
    config,
    clock,
    http: () => request(app.getHttpServer()),
    close: async () => {
      await app.close();
      await database.dispose();
    },
  };
}
