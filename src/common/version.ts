import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The gateway's version, from package.json (two levels up from both `src/common` and `dist/common`). */
export const GATEWAY_VERSION: string = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

export const SERVICE_NAME = 'API Premium Gateway';
