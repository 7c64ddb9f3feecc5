// `secrets-agent get PATH [--backend B] [--json]`: print one value and a newline, or with --json every key of
// a secret as one JSON document (docs/commands.md). stdout carries only the result; exit 1 when not found.
import { libraryError } from '../library/errors.js';
import type { BackendName } from '../backends/backend.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore } from '../runtime/context.js';
import { memoryOf } from '../runtime/pass.js';

/** Returns the exit code. */
export async function getCommand(context: CommandContext, path: string, options: { json?: boolean; backend?: string }): Promise<number> {
  // The provenance of the configured output directory, read only: `get` answers what the agent would serve.
  const store = await createStore(context, { memory: await memoryOf(context.config.output) });
  try {
    const pinned = options.backend === undefined || options.backend === 'auto' ? undefined : (options.backend as BackendName);
    const resolution = await store.resolve({ ref: { kind: options.json ? 'map' : 'value', path }, backend: pinned });
    if (resolution.status !== 'found') {
      const error = libraryError(path, resolution);
      context.log.child({ component: 'get' }).error({ code: error.code, path }, error.message);
      return 1;
    }
    const { data } = resolution;
    context.io.stdout.write(typeof data === 'string' ? `${data}\n` : `${JSON.stringify(data)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
