// `secrets-agent migrate --from-env FILE --to vault|aws [--dry-run] [--map FILE] [--overwrite]`: move a `.env`
// into Vault or AWS Secrets Manager following the path layout of docs/design.md. stdout carries the plan (secret and
// key names, never a value); a second run writes nothing and says so (docs/commands.md).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createChain, isConfigured } from '../backends/create.js';
import { isWritable } from '../backends/writable.js';
import type { WritableBackendName } from '../backends/writable.js';
import type { Config } from '../config/schema.js';
import { AgentError } from '../errors.js';
import { readEnvFile } from '../ops/env-file.js';
import { parseOverrides } from '../ops/env-map.js';
import type { Overrides } from '../ops/env-map.js';
import { applyPlan, groupVariables, planMigration } from '../ops/migrate-plan.js';
import type { SecretPlan, Written } from '../ops/migrate-plan.js';
import { secretWriter } from '../ops/writer.js';
import type { CommandContext } from '../runtime/context.js';
import { plural } from './plural.js';

export interface MigrateOptions {
  readonly fromEnv: string;
  readonly to: WritableBackendName;
  readonly dryRun?: boolean;
  readonly map?: string;
  readonly overwrite?: boolean;
}

/** Returns the exit code: 0 migrated (or nothing to do); 1 a conflict or a backend failure. */
export async function migrateCommand(context: CommandContext, options: MigrateOptions): Promise<number> {
  const log = context.log.child({ component: 'migrate' });
  const file = resolve(context.io.cwd, options.fromEnv);
  const variables = await readEnvFile(file);
  const overrides = options.map === undefined ? new Map() as Overrides : parseOverrides(await readMapFile(resolve(context.io.cwd, options.map), options.map), options.map);
  const { groups, unmapped, skipped } = groupVariables(variables, overrides, options.fromEnv);
  // Every value is scrubbed from logs, except words the command prints itself (`postgres` as a host and a path segment).
  const identifiers = [...groups].flatMap(([secret, keys]) => [...secret.split('/'), ...keys.keys()]);
  context.scrubber.rotate(variables.map((variable) => variable.value), identifiers);
  for (const variable of variables.filter((each) => each.overridden.length > 0)) {
    log.warn({ variable: variable.name, lines: [...variable.overridden, variable.line] }, `${options.fromEnv}: ${variable.name} is set on lines ${[...variable.overridden, variable.line].join(', ')}; the last one counts, as for every dotenv reader`);
  }
  const out = context.io.stdout;
  out.write(`migrate ${options.fromEnv} -> ${describeTarget(options.to, context.config)}: ${plural(variables.length, 'variable')}, ${plural(groups.size, 'secret')}\n`);
  if (groups.size === 0) {
    listLeftOut(out, unmapped, skipped);
    out.write('nothing to migrate: no variable maps to a secret\n');
    return 0;
  }

  if (!isConfigured(options.to, context.config)) {
    const key = options.to === 'vault' ? 'vault.address (VAULT_ADDR)' : 'aws.region (AWS_REGION)';
    throw new AgentError('ERR_CONFIG_INVALID', `migrate --to ${options.to}: ${key} is not set`, { details: { key } });
  }
  const [backend] = await createChain({ ...context.config, backend: options.to }, context.io.env, context.log);
  if (!isWritable(backend)) throw new AgentError('ERR_USAGE', `migrate: --to must be vault or aws, got "${options.to}"`);
  const writer = secretWriter(backend);
  try {
    await backend.start?.();
    const plans = await planMigration(writer, groups, options.overwrite === true);
    const conflicts = plans.filter((plan) => plan.action === 'conflict');
    if (options.dryRun === true || conflicts.length > 0) {
      for (const plan of plans) out.write(`${planLine(plan, undefined, true)}\n`);
      listLeftOut(out, unmapped, skipped);
      out.write(`${options.dryRun === true ? 'dry run' : 'nothing was written'}: ${summary(plans)}${options.dryRun === true ? '; nothing was written' : ''}\n`);
      if (conflicts.length === 0) return 0;
      const names = conflicts.map((plan) => plan.secret).join(', ');
      log.error({ code: 'ERR_CAS_CONFLICT', secrets: conflicts.map((plan) => plan.secret) }, `${conflicts.length === 1 ? '1 secret already exists' : `${conflicts.length} secrets already exist`} in ${options.to} with other values (${names}); nothing was written - run with --overwrite to merge the keys into them`);
      return 1;
    }
    const { written, failure } = await applyPlan(writer, plans);
    if (context.config.log.audit) for (const entry of written) auditWrite(context, options.to, entry, plans);
    for (const plan of plans) {
      const result = written.find((entry) => entry.secret === plan.secret);
      if (failure === undefined || result !== undefined || plan.action === 'unchanged') out.write(`${planLine(plan, result, false)}\n`);
    }
    listLeftOut(out, unmapped, skipped);
    if (failure) {
      const before = written.length === 0 ? 'nothing was written' : `${written.length} secrets were written before it (${written.map((entry) => entry.secret).join(', ')})`;
      throw new AgentError(failure.code, `${failure.message}; ${before} - run migrate again: it skips what is already there`, { cause: failure, details: failure.details });
    }
    out.write(written.length === 0 ? `nothing to write: all ${plans.length} secrets already hold these values\n` : `wrote ${written.length} secrets (${count(written, 'create')} created, ${count(written, 'merge')} merged), ${plans.length - written.length} unchanged\n`);
    return 0;
  } finally {
    await backend.close?.();
  }
}

async function readMapFile(path: string, name: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new AgentError('ERR_MIGRATE_INPUT', `migrate: cannot read --map ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error, details: { file: name } });
  }
}

/** Why: the operator should see where the secrets land (mount and namespace, or prefix and region). */
function describeTarget(to: WritableBackendName, config: Config): string {
  if (to === 'vault') return `vault (mount "${config.vault.mount}"${config.vault.namespace === '' ? '' : `, namespace "${config.vault.namespace}"`})`;
  return `aws (prefix "${config.aws.prefix}"${config.aws.region === undefined ? '' : `, region ${config.aws.region}`})`;
}

/** One line per secret: its keys and what happens to it; names only, never a value. */
function planLine(plan: SecretPlan, result: Written | undefined, planning: boolean): string {
  const keys = Object.keys(plan.data).join(', ');
  const delta = [...plan.changed.map((key) => `${key} changed`), ...plan.added.map((key) => `${key} added`)].join(', ');
  switch (plan.action) {
    case 'create':
      return `  + ${plan.secret}: ${keys} (${planning ? 'would create' : `created, version ${result?.version ?? '?'}`})`;
    case 'unchanged':
      return `  = ${plan.secret}: ${keys} (unchanged)`;
    case 'merge':
      return `  ~ ${plan.secret}: ${delta} (${planning ? 'would merge into the existing secret' : `merged, version ${result?.version ?? '?'}`})`;
    case 'conflict':
      return `  ! ${plan.secret}: ${delta} (exists with other values; not written without --overwrite)`;
  }
}

function listLeftOut(out: NodeJS.WritableStream, unmapped: readonly string[], skipped: readonly string[]): void {
  if (unmapped.length > 0) out.write(`unmapped, not migrated (give them a place with --map FILE): ${unmapped.join(', ')}\n`);
  if (skipped.length > 0) out.write(`left out by --map: ${skipped.join(', ')}\n`);
}

function summary(plans: readonly SecretPlan[]): string {
  const n = (action: SecretPlan['action']): number => plans.filter((plan) => plan.action === action).length;
  const parts = [`${n('create')} to create`, `${n('merge')} to merge`, `${n('unchanged')} unchanged`];
  if (n('conflict') > 0) parts.push(`${n('conflict')} exist with other values (--overwrite merges)`);
  return parts.join(', ');
}

function count(written: readonly Written[], action: Written['action']): number {
  return written.filter((entry) => entry.action === action).length;
}

/** Why: every write to a secret store leaves one audit line: which secret, which keys, which version; no value. */
function auditWrite(context: CommandContext, backend: string, entry: Written, plans: readonly SecretPlan[]): void {
  const keys = Object.keys(plans.find((plan) => plan.secret === entry.secret)?.data ?? {});
  context.log.child({ component: 'audit' }).info({ audit: true, event: 'migrate', path: entry.secret, keys, backend, version: entry.version, outcome: entry.action === 'create' ? 'created' : 'merged' }, `secret migrated: ${entry.secret}`);
}
