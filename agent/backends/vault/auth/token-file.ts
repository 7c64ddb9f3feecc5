// Watch a token file for replacement. The directory is watched, not the file: Kubernetes publishes a new
// projected token by swapping the `..data` symlink, which a watch on the old inode never sees (Kubernetes
// AtomicWriter). Every event just asks the owner to re-read and compare content.
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../../log/logger.js';

export interface Watch {
  close(): void;
}

/** A way to watch a file: `onChange` runs on any change near it. Injectable so tests can trigger it by hand. */
export type FileWatcher = (path: string, onChange: () => void) => Watch;

// Why: a missing or unwatchable directory must not stop the agent; it still re-reads the file after a 403.
/** fs.watch on the file's directory, not keeping the process alive; errors are logged, not thrown. */
export function directoryWatcher(log: Logger): FileWatcher {
  return (path, onChange) => {
    try {
      const watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(path) || name.startsWith('..')) onChange();
      });
      watcher.on('error', (error) => { log.warn({ file: path, code: (error as NodeJS.ErrnoException).code }, 'watching the vault token file failed; it is re-read only after a 403'); });
      return { close: () => { watcher.close(); } };
    } catch (error) {
      log.warn({ file: path, code: (error as NodeJS.ErrnoException).code }, 'cannot watch the vault token file; it is re-read only after a 403');
      return { close: () => undefined };
    }
  };
}
