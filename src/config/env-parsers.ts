/**
 * Small, strict parsers for environment variables. Each one either returns a typed value or
 * records a message naming the variable and what it expects; `loadConfig` reports them all at once.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const raw = this.raw(name);
    return raw ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name}="${raw}": expected an integer between ${min} and ${max}`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const normalized = raw.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
    if (['false', '0', 'no', 'off'].includes(normalized)) return false;
    this.problems.push(`${name}="${raw}": expected true or false`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}="${raw}": expected one of ${allowed.join(', ')}`);
    return fallback;
  }

  list(name: string): string[] {
    const raw = this.raw(name);
    if (raw === undefined) return [];
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }

  url(name: string, protocols: readonly string[]): URL | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !protocols.includes(parsed.protocol.replace(/:$/, '')) || !parsed.hostname) {
      const shape = protocols.map((p) => `${p}://user:pass@host:port/name`).join(' or ');
      this.problems.push(`${name}: expected a URL like ${shape}, got "${redactUrl(raw)}"`);
      return undefined;
    }
    return parsed;
  }

  /** An empty string counts as unset, so `FOO=` in a .env file means "use the default". */
  private raw(name: string): string | undefined {
    const value = this.env[name];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
}

/** Hides the password of a URL so that it can be printed in an error message or a log line. */
export function redactUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
