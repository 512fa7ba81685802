import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createApp } from '../app-setup';
import { buildOpenApiDocument } from '../common/swagger';
import { loadConfig } from '../config/app-config';

/**
 * Writes the OpenAPI document to `openapi.json` (or the path given) without listening.
 * Run from the compiled build so that the swagger CLI plugin's metadata is included.
 */
async function main(): Promise<void> {
  const target = resolve(process.argv[2] ?? 'openapi.json');
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: '',
    GATEWAY_SQLITE_PATH: ':memory:',
    LOG_LEVEL: 'error',
    LOG_PRETTY: 'false',
  });
  const app = await createApp(config);
  const document = buildOpenApiDocument(app);
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
  process.stdout.write(`OpenAPI document written to ${target}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`OpenAPI generation failed: ${String(error)}\n`);
  process.exit(1);
});
