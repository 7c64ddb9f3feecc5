// `secrets-agent rotate PATH (--value-stdin | --generate N) [--backend B] [--charset base62|hex]`: write a new
// version of one key with the backend's check-and-set, print the new version id (never the value), record an
// audit line, and print the rotation checklist as next steps on stderr (docs/commands.md).
import { invalidPathReason, splitPath } from '../backends/backend.js';
import type { BackendName } from '../backends/backend.js';
import { AgentError, isAgentError } from '../errors.js';
import { rotateKey } from '../library/rotation.js';
import type { RotationResult, RotationSource } from '../library/rotation.js';
import { generateSecret, parseLength } from '../ops/generate.js';
import type { Charset } from '../ops/generate.js';
import { resolvedValues } from '../store/values.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore } from '../runtime/context.js';

export interface RotateOptions {
  readonly valueStdin?: boolean;
  readonly generate?: string;
  readonly charset?: Charset;
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
  if ((options.valueStdin === true) === (options.generate !== undefined)) throw new AgentError('ERR_USAGE', 'rotate: give exactly one of --value-stdin (read the new value from stdin) or --generate N (make a random one)');
  if (options.charset !== undefined && options.generate === undefined) throw new AgentError('ERR_USAGE', 'rotate: --charset goes with --generate N');
  const value = options.generate === undefined ? await readValue(options.stdin) : generateSecret(parseLength(options.generate), options.charset ?? 'base62');
  context.scrubber.add([value]);
  const store = await createStore(context);
  const pinned = options.backend === undefined || options.backend === 'auto' ? undefined : (options.backend as BackendName);
  let result: RotationResult;
  try {
    const source: RotationSource = {
      backends: store.backends,
      resolve: async (ref, backend) => {
        const resolution = await store.resolve({ ref, backend });
        // The value being replaced must not reach a log line either.
        context.scrubber.add(resolvedValues([resolution]));
        return resolution;
      },
    };
    result = await rotateKey(source, path, value, { ...(pinned === undefined ? {} : { backend: pinned }), ...(context.config.log.audit ? { audit: context.log } : {}) });
  } catch (error) {
    if (!isAgentError(error)) throw error;
    const conflict = error.code === 'ERR_CAS_CONFLICT' ? ' - not retried: find out who changed it, then run rotate again' : '';
    throw new AgentError(error.code, `rotate ${path}: ${error.message}${conflict}`, { cause: error, details: { ...error.details, path } });
  } finally {
    await store.close();
  }
  context.io.stdout.write(`${result.version}\n`);
  context.io.stderr.write(checklist(result, context));
  return 0;
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
function checklist(result: RotationResult, context: CommandContext): string {
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
    `  [ ] 6. next rotation due in ${ROTATION_MAX_AGE} (secrets-agent audit --max-age ${ROTATION_MAX_AGE} flags it)`,
    '',
  ].join('\n');
}
