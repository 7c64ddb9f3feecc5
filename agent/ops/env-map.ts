// Where each variable of a `.env` goes in the path layout of docs/design.md (`BINANCE_API_KEY` → secret
// `exchange/binance`, key `api_key`). Fixed names, exchange credentials by suffix, and a `--map` file
// that overrides both; anything else is reported as unmapped, never guessed.
import { parse as parseYaml } from 'yaml';
import { invalidPathReason, splitPath } from '../backends/backend.js';
import { AgentError } from '../errors.js';

export interface Target {
  readonly secret: string;
  readonly key: string;
}

/** `--map` entries: a target, or null for "leave this variable out on purpose". */
export type Overrides = ReadonlyMap<string, Target | null>;

/** Variables of the seed's `.env` with a fixed place. */
const FIXED: Readonly<Record<string, Target>> = {
  SECRET_KEY: { secret: 'app', key: 'secret_key' },
  POSTGRES_HOST: { secret: 'database/postgres', key: 'host' },
  POSTGRES_PORT: { secret: 'database/postgres', key: 'port' },
  POSTGRES_USER: { secret: 'database/postgres', key: 'user' },
  POSTGRES_PASSWORD: { secret: 'database/postgres', key: 'password' },
  POSTGRES_DB: { secret: 'database/postgres', key: 'database' },
  REDIS_PASSWORD: { secret: 'database/redis', key: 'password' },
  SENTRY_DSN: { secret: 'monitoring', key: 'sentry_dsn' },
  SLACK_WEBHOOK_URL: { secret: 'notifications', key: 'slack_webhook_url' },
  TELEGRAM_BOT_TOKEN: { secret: 'notifications', key: 'telegram_bot_token' },
};

/** `<EXCHANGE>_<suffix>` → key of `exchange/<exchange>`. */
const EXCHANGE_SUFFIXES: Readonly<Record<string, string>> = { _API_KEY: 'api_key', _API_SECRET: 'api_secret', _PASSPHRASE: 'passphrase', _TESTNET: 'testnet' };

/** Exchanges recognised by name alone; any other NAME counts as one when both NAME_API_KEY and NAME_API_SECRET are set. */
export const KNOWN_EXCHANGES: ReadonlySet<string> = new Set(['BINANCE', 'GATEIO', 'KRAKEN', 'COINBASE', 'BYBIT', 'OKX', 'KUCOIN', 'BITFINEX', 'BITSTAMP', 'HUOBI', 'HTX', 'GEMINI', 'BITGET', 'MEXC', 'DERIBIT', 'BITMEX']);

/** The exchanges of a set of variable names: known ones, and any NAME with both an API key and an API secret. */
export function exchangesIn(names: Iterable<string>): Set<string> {
  const all = new Set(names);
  const found = new Set<string>();
  for (const name of all) {
    const prefix = splitSuffix(name)?.prefix;
    if (prefix === undefined) continue;
    if (KNOWN_EXCHANGES.has(prefix) || (all.has(`${prefix}_API_KEY`) && all.has(`${prefix}_API_SECRET`))) found.add(prefix);
  }
  return found;
}

/** Where `name` goes: a target, null (skipped on purpose by --map), or undefined (unmapped). */
export function targetOf(name: string, exchanges: ReadonlySet<string>, overrides: Overrides): Target | null | undefined {
  if (overrides.has(name)) return overrides.get(name) ?? null;
  const fixed = FIXED[name];
  if (fixed) return fixed;
  const split = splitSuffix(name);
  if (split === undefined || !exchanges.has(split.prefix)) return undefined;
  return { secret: `exchange/${split.prefix.toLowerCase()}`, key: split.key };
}

/** `BINANCE_API_KEY` → prefix `BINANCE`, key `api_key`; undefined when no exchange suffix fits. */
function splitSuffix(name: string): { prefix: string; key: string } | undefined {
  for (const [suffix, key] of Object.entries(EXCHANGE_SUFFIXES)) {
    const prefix = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && /^[A-Z][A-Z0-9_]*$/.test(prefix) && !prefix.endsWith('_')) return { prefix, key };
  }
  return undefined;
}

/**
 * Parse a `--map` file: YAML or JSON, one object of `VARIABLE: secret/path/key` (the last segment is the key),
 * or `VARIABLE: false` to leave a variable out on purpose. Messages name the file and the variable.
 */
export function parseOverrides(text: string, file: string): Overrides {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new AgentError('ERR_MIGRATE_INPUT', `migrate: --map ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0] ?? ''}`, { details: { file } });
  }
  if (document === null || document === undefined) return new Map();
  if (typeof document !== 'object' || Array.isArray(document)) throw new AgentError('ERR_MIGRATE_INPUT', `migrate: --map ${file} must be one object of VARIABLE: secret/path/key`, { details: { file } });
  const overrides = new Map<string, Target | null>();
  for (const [name, value] of Object.entries(document as Record<string, unknown>)) {
    const where = `migrate: --map ${file}: ${name}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AgentError('ERR_MIGRATE_INPUT', `${where}: not a variable name (^[A-Za-z_][A-Za-z0-9_]*$)`, { details: { file, variable: name } });
    if (value === false || value === null) {
      overrides.set(name, null);
      continue;
    }
    if (typeof value !== 'string') throw new AgentError('ERR_MIGRATE_INPUT', `${where}: expected a path such as exchange/kraken/api_key, or false to leave it out`, { details: { file, variable: name } });
    const reason = invalidPathReason(value);
    const { secret, key } = splitPath(value);
    if (reason !== undefined || secret === '') throw new AgentError('ERR_MIGRATE_INPUT', `${where}: "${value}" is not <secret>/<key>${reason === undefined ? '' : `: ${reason}`}`, { details: { file, variable: name } });
    overrides.set(name, { secret, key });
  }
  return overrides;
}
