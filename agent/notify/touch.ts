// The `touch` notifier (docs/design.md "The output directory"): set a file's mtime to now, creating it empty with mode 0600 if missing,
// for applications that watch a marker file. The parent directory is never created: a missing one is a typo.
import { open, utimes } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { errorCode } from './common.js';

// Why: the dispatcher's entry point; O_EXCL tells a created file from an existing one, whose mode is left alone.
/** Touch `path` at `clock.now()`; resolves with whether the file was created, throws ERR_NOTIFY on failure. */
export async function touchFile(path: string, options: { clock: Clock }): Promise<{ created: boolean }> {
  let created = false;
  try {
    const handle = await open(path, 'wx', 0o600).catch((error: unknown) => {
      if (errorCode(error) === 'EEXIST') return undefined;
      throw error;
    });
    if (handle !== undefined) {
      created = true;
      await handle.chmod(0o600).finally(() => handle.close()); // the umask may have taken bits from 0600
    }
    const now = new Date(options.clock.now());
    await utimes(path, now, now);
  } catch (error) {
    throw new AgentError('ERR_NOTIFY', `cannot touch ${path}: ${errorCode(error)}`, { details: { path } });
  }
  return { created };
}
