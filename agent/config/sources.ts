// The layers above the config file (docs/configuration.md): environment variables, then command-line flags. Each setting
// carries its key path and its source, so a validation problem can say where the bad value came from.
import { isAbsolute, resolve } from 'node:path';
import { PATH_KEYS } from './schema.js';

/** The flags every command accepts that change the configuration (docs/commands.md). */
export interface ConfigFlags {
  templates?: string | undefined;
  output?: string | undefined;
  backend?: string | undefined;
  logLevel?: string | undefined;
}

/** One value from the environment or a flag, for one key path, with the name of its source. */
export interface Setting {
  readonly key: readonly string[];
  readonly value: string | boolean;
  /** `env VAULT_ADDR`, `flag --backend`. */
  readonly source: string;
}

/** How an environment variable's text becomes a value: `text` treats "" as unset, `keep` keeps "". */
type Kind = 'text' | 'keep' | 'path' | 'bool';

/** Every environment variable of docs/configuration.md and the key it sets. Several names for one key: the first set wins. */
const ENV_VARS: readonly { names: readonly string[]; key: readonly string[]; kind: Kind }[] = [
  { names: ['SECRETS_AGENT_TEMPLATES'], key: ['templates'], kind: 'path' },
  { names: ['SECRETS_AGENT_OUTPUT'], key: ['output'], kind: 'path' },
  { names: ['SECRETS_AGENT_BACKEND'], key: ['backend'], kind: 'text' },
  { names: ['VAULT_ADDR'], key: ['vault', 'address'], kind: 'text' },
  { names: ['VAULT_NAMESPACE'], key: ['vault', 'namespace'], kind: 'keep' },
  { names: ['SECRETS_AGENT_VAULT_MOUNT'], key: ['vault', 'mount'], kind: 'text' },
  { names: ['VAULT_CACERT'], key: ['vault', 'caCert'], kind: 'path' },
  { names: ['VAULT_CLIENT_CERT'], key: ['vault', 'clientCert'], kind: 'path' },
  { names: ['VAULT_CLIENT_KEY'], key: ['vault', 'clientKey'], kind: 'path' },
  { names: ['VAULT_SKIP_VERIFY'], key: ['vault', 'tlsSkipVerify'], kind: 'bool' },
  { names: ['SECRETS_AGENT_VAULT_AUTH'], key: ['vault', 'auth', 'method'], kind: 'text' },
  { names: ['VAULT_TOKEN'], key: ['vault', 'auth', 'token'], kind: 'text' },
  { names: ['VAULT_TOKEN_FILE'], key: ['vault', 'auth', 'tokenFile'], kind: 'path' },
  { names: ['SECRETS_AGENT_VAULT_ROLE'], key: ['vault', 'auth', 'role'], kind: 'text' },
  { names: ['AWS_REGION', 'AWS_DEFAULT_REGION'], key: ['aws', 'region'], kind: 'text' },
  { names: ['SECRETS_AGENT_AWS_PREFIX'], key: ['aws', 'prefix'], kind: 'keep' },
  { names: ['SECRETS_AGENT_FILE'], key: ['file', 'path'], kind: 'path' },
  { names: ['SECRETS_AGENT_ENV_PREFIX'], key: ['env', 'prefix'], kind: 'keep' },
  { names: ['SECRETS_AGENT_SCHEDULE'], key: ['schedule'], kind: 'text' },
  { names: ['SECRETS_AGENT_LISTEN'], key: ['listen'], kind: 'keep' },
  { names: ['SECRETS_AGENT_LOG_LEVEL'], key: ['log', 'level'], kind: 'text' },
  { names: ['SECRETS_AGENT_LOG_FORMAT'], key: ['log', 'format'], kind: 'text' },
];

/** The names of every environment variable that configures the agent (for docs and `--help`). */
export const CONFIG_ENV_VARS: readonly string[] = ['SECRETS_AGENT_CONFIG', ...ENV_VARS.flatMap((entry) => entry.names)];

const FLAGS: readonly { name: keyof ConfigFlags; flag: string; key: readonly string[]; kind: Kind }[] = [
  { name: 'templates', flag: '--templates', key: ['templates'], kind: 'path' },
  { name: 'output', flag: '--output', key: ['output'], kind: 'path' },
  { name: 'backend', flag: '--backend', key: ['backend'], kind: 'text' },
  { name: 'logLevel', flag: '--log-level', key: ['log', 'level'], kind: 'text' },
];

// Why: VAULT_SKIP_VERIFY is true only for true/1/yes (any case); node-vault's looser parsing turns "false" on.
/** Parse a boolean environment variable: true for `true`, `1`, `yes` (any case), false for anything else. */
export function parseEnvBoolean(text: string): boolean {
  return ['true', '1', 'yes'].includes(text.toLowerCase());
}

// Why: "" means "unset" for most variables, but a real value for VAULT_NAMESPACE, the prefixes and listen.
function convert(text: string, kind: Kind, cwd: string): string | boolean | undefined {
  if (kind === 'bool') return parseEnvBoolean(text);
  if (kind === 'keep') return text;
  if (text === '') return undefined;
  return kind === 'path' ? resolve(cwd, text) : text;
}

// Why: env vars are the middle layer of docs/configuration.md; relative paths in them are relative to the working directory.
/** The settings the environment makes, in a fixed order; relative paths resolved against `cwd`. */
export function envSettings(env: Readonly<Record<string, string | undefined>>, cwd: string): Setting[] {
  const settings: Setting[] = [];
  for (const { names, key, kind } of ENV_VARS) {
    for (const name of names) {
      const text = env[name];
      const value = text === undefined ? undefined : convert(text, kind, cwd);
      if (value === undefined) continue;
      settings.push({ key, value, source: `env ${name}` });
      break;
    }
  }
  return settings;
}

// Why: flags are the top layer of docs/configuration.md; relative paths in them are relative to the working directory.
/** The settings the command-line flags make; relative paths resolved against `cwd`. */
export function flagSettings(flags: ConfigFlags | undefined, cwd: string): Setting[] {
  const settings: Setting[] = [];
  for (const { name, flag, key, kind } of FLAGS) {
    const text = flags?.[name];
    const value = text === undefined ? undefined : convert(text, kind, cwd);
    if (value !== undefined) settings.push({ key, value, source: `flag ${flag}` });
  }
  return settings;
}

// Why: a relative path in the config file means "next to the file", wherever the agent was started from.
/** Resolve, in place, every relative path value of `data` (see PATH_KEYS) against `baseDir`. */
export function resolveFilePaths(data: Record<string, unknown>, baseDir: string): void {
  for (const key of PATH_KEYS) resolveAt(data, key, baseDir);
}

// Why: PATH_KEYS use `*` for record keys (notifier names), so the walk fans out at each `*`.
function resolveAt(node: unknown, key: readonly string[], baseDir: string): void {
  if (!isRecord(node)) return;
  const [head, ...rest] = key;
  if (head === undefined) return;
  const names = head === '*' ? Object.keys(node) : [head];
  for (const name of names) {
    if (!Object.hasOwn(node, name)) continue;
    const value = node[name];
    if (rest.length > 0) resolveAt(value, rest, baseDir);
    else if (typeof value === 'string' && value !== '' && !isAbsolute(value)) node[name] = resolve(baseDir, value);
  }
}

// Why: YAML mappings and JSON objects arrive as plain objects; arrays and null must not be walked as mappings.
/** True for a plain object (a YAML mapping / JSON object), not an array or null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
