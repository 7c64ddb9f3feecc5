// Load the configuration (docs/configuration.md): built-in defaults < config file < environment variables < flags, merged,
// then validated once by the schema. Every problem is reported at once, naming the key and where it came from.
import { dirname, resolve } from 'node:path';
import { AgentError } from '../errors.js';
import { readConfigFile } from './file.js';
import type { ConfigFile } from './file.js';
import { describeProblems } from './problems.js';
import { configJsonSchema, configSchema, runnableConfigSchema } from './schema.js';
import type { Config } from './schema.js';
import { envSettings, flagSettings, isRecord, resolveFilePaths } from './sources.js';
import type { ConfigFlags, Setting } from './sources.js';

export type { ConfigFlags } from './sources.js';

/** The outside world loadConfig reads: the file (else SECRETS_AGENT_CONFIG), the environment, flags, cwd. */
export interface LoadConfigInput {
  /** `--config FILE`; when absent, SECRETS_AGENT_CONFIG; when both are absent, no file is read. */
  file?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  flags?: ConfigFlags | undefined;
  /** The directory relative paths from the environment, flags and `file` are resolved against. */
  cwd: string;
  /** Lint only (`check` without `--diff`): skip the rules that only matter to reach a backend (a forced backend's address). */
  offline?: boolean;
}

// Why: every command starts from the same merged, validated configuration; nothing else reads env or the file.
/** Merge defaults < file < env < flags and validate; throws AgentError ERR_CONFIG_FILE or ERR_CONFIG_INVALID. */
export async function loadConfig(input: LoadConfigInput): Promise<Config> {
  const fileName = nonEmpty(input.file) ?? nonEmpty(input.env['SECRETS_AGENT_CONFIG']);
  const file = fileName === undefined ? undefined : await readConfigFile(resolve(input.cwd, fileName));
  const merged: Record<string, unknown> = file === undefined ? {} : structuredClone(file.data);
  if (file !== undefined) resolveFilePaths(merged, dirname(file.path));

  const origins = new Map<string, string>();
  for (const setting of [...envSettings(input.env, input.cwd), ...flagSettings(input.flags, input.cwd)]) {
    if (setIn(merged, setting)) origins.set(setting.key.join('\u0000'), setting.source);
  }

  const result = (input.offline === true ? configSchema : runnableConfigSchema).safeParse(merged);
  if (result.success) return result.data;
  const problems = describeProblems(result.error.issues, {
    input: merged,
    sourceOf: (path) => sourceOf(path, origins, file) ?? 'not set',
    jsonSchema: configJsonSchema(),
  });
  const where = file === undefined ? '' : ` (config file ${file.path})`;
  const heading = `invalid configuration${where}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  throw new AgentError('ERR_CONFIG_INVALID', [heading, ...problems.map((problem) => `  ${problem}`)].join('\n'), {
    details: { problems: problems.length, ...(file === undefined ? {} : { file: file.path }) },
  });
}

// Why: an empty --config or SECRETS_AGENT_CONFIG means "no file", as an unset one does.
function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

// Why: env vars and flags set single keys; a non-mapping in the way is the file's error and is reported as such.
/** Set `setting.value` at `setting.key` inside `target`, creating mappings; false when a non-mapping is in the way. */
function setIn(target: Record<string, unknown>, setting: Setting): boolean {
  let node = target;
  const parents = setting.key.slice(0, -1);
  for (const segment of parents) {
    const child = Object.hasOwn(node, segment) ? node[segment] : undefined;
    if (child === undefined) node[segment] = {};
    else if (!isRecord(child)) return false;
    const next = node[segment];
    if (!isRecord(next)) return false;
    node = next;
  }
  const last = setting.key[setting.key.length - 1];
  if (last === undefined) return false;
  node[last] = setting.value;
  return true;
}

// Why: a problem names where the value came from: the flag or env var that set it, else the file (with line).
function sourceOf(path: readonly (string | number)[], origins: ReadonlyMap<string, string>, file: ConfigFile | undefined): string | undefined {
  for (let depth = path.length; depth > 0; depth -= 1) {
    const origin = origins.get(path.slice(0, depth).join('\u0000'));
    if (origin !== undefined) return origin;
  }
  if (file !== undefined && (path.length === 0 || Object.hasOwn(file.data, String(path[0])))) {
    const at = path.length === 0 ? undefined : file.locate(path);
    return at === undefined ? file.path : `${file.path}:${at}`;
  }
  return undefined;
}
