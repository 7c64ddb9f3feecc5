// `secrets-agent rotate PATH [--value-stdin | --generate N [--charset C]] [--every 90d [--auto]] [--backend B]`:
// with --every, record the secret's rotation policy with the secret (docs/operations.md "Rotation"); with a value
// flag, write a new version of one key with the backend's check-and-set, print the new version id (never the
// value), record an audit line, and print the rotation checklist as next steps on stderr (docs/commands.md).
import { invalidPathReason, splitPath } from '../backends/backend.js';
import type { BackendName } from '../backends/backend.js';
import { AgentError, isAgentError } from '../errors.js';
import { ownerOf, policyFromOptions, rotateKey } from '../library/rotation.js';
import type { RotationResult, RotationSource } from '../library/rotation.js';
import { generateSecret, parseLength } from '../ops/generate.js';
import type { Charset } from '../ops/generate.js';
import { readSchedule, recordPolicy } from '../rotation/schedule.js';
import type { RotationSchedule } from '../rotation/schedule.js';
import { resolvedValues } from '../store/values.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore } from '../runtime/context.js';

export interface RotateOptions {
  readonly valueStdin?: boolean;
  readonly generate?: string;
  readonly charset?: Charset;
  /** Record the secret's rotation period (`90d`). */
  readonly every?: string;
  /** Let running agents generate the next values (needs --generate and --every). */
  readonly auto?: boolean;
  readonly backend?: string;
  /** Where --value-stdin reads from (the process's stdin unless a test gives another stream). */
  readonly stdin: NodeJS.ReadableStream;
}

/** The rotation policy the checklist names; `audit --max-age` defaults to the same. */
export const ROTATION_MAX_AGE = '90d';

/** Returns the exit code: 0 rotated; errors (a CAS conflict included) are thrown and end with their exit status. */
export async function rotateCommand(context: CommandContext, path: string, options: RotateOptions): Promise<number> {
  const reason = invalidPathReason(path);
  if (reason !== undefined || splitPath(path).secret === '') throw new AgentError('ERR_USAGE', `rotate: "${path}" is not a secret path <secret>/<key>${reason === undefined ? '' : `: ${reason}`}`, { details: { path } });
  const writes = options.valueStdin === true || options.generate !== undefined;
  if (options.valueStdin === true && options.generate !== undefined) throw new AgentError('ERR_USAGE', 'rotate: give one of --value-stdin (read the new value from stdin) or --generate N (make a random one), not both');
  if (!writes && options.every === undefined) throw new AgentError('ERR_USAGE', 'rotate: give --value-stdin or --generate N to write a new value, or --every 90d to record the rotation period (or both)');
  if (options.charset !== undefined && options.generate === undefined) throw new AgentError('ERR_USAGE', 'rotate: --charset goes with --generate N');
  if (options.auto === true && (options.generate === undefined || options.every === undefined)) throw new AgentError('ERR_USAGE', 'rotate: --auto goes with --every and --generate N: running agents can only rotate values they generate (an exchange\'s API key comes from the exchange)');
  const length = options.generate === undefined ? undefined : parseLength(options.generate);
  const policy = options.every === undefined ? undefined : policyFromOptions(path, { period: options.every, generate: length, charset: options.charset, auto: options.auto });
  const value = !writes ? undefined : length === undefined ? await readValue(options.stdin) : generateSecret(length, options.charset ?? 'base62');
  if (value !== undefined) context.scrubber.add([value]);
  const store = await createStore(context);
  const pinned = options.backend === undefined || options.backend === 'auto' ? undefined : (options.backend as BackendName);
  let result: RotationResult | undefined;
  let schedule: RotationSchedule | undefined;
  try {
    const source: RotationSource = {
      backends: store.backends,
      // ownerOf (agent/library/rotation.ts) checks that no backend above the one that answered was skipped.
      resolve: async (ref, backend) => {
        const resolution = await store.resolve({ ref, backend });
        // The value being replaced must not reach a log line either.
        context.scrubber.add(resolvedValues([resolution]));
        return resolution;
      },
    };
    // Why the policy first: when it cannot be recorded (no metadata PATCH permission, KV v1), nothing has changed yet.
    const owner = policy === undefined ? undefined : await ownerOf(source, path, pinned);
    if (owner !== undefined && policy !== undefined) await recordPolicy(owner, path, policy);
    if (value !== undefined) result = await rotateKey(source, path, value, { ...(pinned === undefined ? {} : { backend: pinned }), ...(context.config.log.audit ? { audit: context.log } : {}) });
    if (owner !== undefined) schedule = await readSchedule(owner, path);
  } catch (error) {
    if (!isAgentError(error)) throw error;
    const conflict = error.code === 'ERR_CAS_CONFLICT' ? ' - not retried: find out who changed it, then run rotate again' : '';
    throw new AgentError(error.code, `rotate ${path}: ${error.message}${conflict}`, { cause: error, details: { ...error.details, path } });
  } finally {
    await store.close();
  }
  if (result !== undefined) context.io.stdout.write(`${result.version}\n`);
  if (schedule !== undefined) context.io.stderr.write(`${describeSchedule(schedule)}\n`);
  if (result !== undefined) context.io.stderr.write(checklist(result, context, schedule));
  return 0;
}

/** One line on what was recorded: the period, whether values are generated and by whom, and when it is due. */
function describeSchedule(schedule: RotationSchedule): string {
  const policy = schedule.policy;
  const generated = policy?.generate === undefined ? 'values come from outside (rotate --value-stdin)' : `generated values of ${policy.generate} characters${schedule.auto ? ', written by running agents with rotation.auto: true' : ''}`;
  const due = schedule.due === null ? 'due: unknown (no creation time)' : `next due ${schedule.due.toISOString()}`;
  return `rotation policy of ${schedule.path} recorded in ${schedule.backend}: every ${schedule.period ?? '?'}, ${generated}; ${due}`;
}

/** Why: `printf %s "$NEW" | secrets-agent rotate ...` and `echo "$NEW" | ...` must store the same value. */
async function readValue(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new AgentError('ERR_USAGE', 'rotate: the value on stdin is not valid UTF-8');
  }
  const value = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (value === '') throw new AgentError('ERR_USAGE', 'rotate: --value-stdin read an empty value; pipe the new value in, or use --generate N');
  return value;
}

/** The seed's rotation checklist as next steps: what is done, what the operator still has to do. */
function checklist(result: RotationResult, context: CommandContext, schedule: RotationSchedule | undefined): string {
  const { secret } = splitPath(result.path);
  const provider = secret.startsWith('exchange/') ? `the exchange (${secret.slice('exchange/'.length)})` : 'the provider or service that issued it';
  const previous = result.backend === 'vault' ? 'the previous KV version stays readable in Vault' : 'the previous value stays readable in AWS as AWSPREVIOUS';
  return [
    `rotated ${result.path} in ${result.backend}: new version ${result.version} (the value is not printed)`,
    'next steps:',
    `  [x] 1. new value written with check-and-set as version ${result.version}; an audit record was logged`,
    `  [ ] 2. every agent re-renders within one schedule ("${context.config.schedule}"); to pick it up now, send the agent SIGUSR1 or POST /v1/refresh`,
    `  [ ] 3. confirm the application uses it: GET /v1/status shows version ${result.version} for ${result.path}, and the app reloaded on notify`,
    `  [ ] 4. revoke the old credential at ${provider} once nothing uses it`,
    `  [ ] 5. ${previous} for rollback; remove it after the old credential is revoked`,
    schedule?.due == null
      ? `  [ ] 6. next rotation due in ${ROTATION_MAX_AGE} (secrets-agent audit --max-age ${ROTATION_MAX_AGE} flags it; record the secret's own period with --every)`
      : `  [ ] 6. next rotation due ${schedule.due.toISOString()} (every ${schedule.period ?? '?'}; secrets-agent audit flags it)`,
    '',
  ].join('\n');
}
