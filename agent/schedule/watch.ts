// Watched inputs (docs/design.md "The output directory"): the templates directory, the secrets file, the token file. Directories are
// watched, never single files, so Kubernetes' atomic `..data` symlink swaps are seen; what counts is the
// content, compared by digest, so a touch or a rewrite with the same bytes triggers nothing.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Clock, TimerHandle } from '../util/clock.js';

export type InputKind = 'templates' | 'secrets-file' | 'token-file';

export interface WatchedInput {
  readonly kind: InputKind;
  /** A directory of *.hbs for `templates`, a file otherwise. */
  readonly path: string;
}

export interface WatchOptions {
  inputs: readonly WatchedInput[];
  clock: Clock;
  /** Quiet time after the last event before contents are compared. */
  debounceMs: number;
  onChange: (kinds: InputKind[]) => void;
}

/** A digest of what an input means: every *.hbs name and content, or one file's content ("" when absent). */
export async function digestInput(input: WatchedInput): Promise<string> {
  const hash = createHash('sha256');
  if (input.kind === 'templates') {
    const names = (await readdir(input.path).catch(() => [] as string[])).filter((name) => name.endsWith('.hbs') && !name.startsWith('.')).sort();
    for (const name of names) hash.update(`${name}\0`).update(await readFile(join(input.path, name)).catch(() => Buffer.alloc(0))).update('\0');
  } else {
    hash.update(await readFile(input.path).catch(() => Buffer.alloc(0)));
  }
  return hash.digest('hex');
}

export interface InputWatcher {
  /** Resolves once the watcher is ready and the first digests are taken. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Watch the inputs' directories; after `debounceMs` of quiet, report the inputs whose content changed. */
export function watchInputs(options: WatchOptions): InputWatcher {
  const digests = new Map<WatchedInput, string>();
  const dirs = [...new Set(options.inputs.map((input) => (input.kind === 'templates' ? input.path : dirname(input.path))))];
  const watcher: FSWatcher = watch(dirs, { ignoreInitial: true, depth: 0, followSymlinks: false });
  let timer: TimerHandle | undefined;
  let closed = false;

  const compare = async (): Promise<void> => {
    const changed: InputKind[] = [];
    for (const input of options.inputs) {
      const digest = await digestInput(input);
      if (digests.get(input) !== digest) {
        digests.set(input, digest);
        if (!changed.includes(input.kind)) changed.push(input.kind);
      }
    }
    if (changed.length > 0 && !closed) options.onChange(changed);
  };

  const poke = (path: string): void => {
    if (!relevant(path, options.inputs)) return;
    timer?.cancel();
    timer = options.clock.setTimeout(() => {
      void compare();
    }, options.debounceMs);
  };
  watcher.on('all', (_event, path) => {
    poke(path);
  });

  const ready = new Promise<void>((resolve) => {
    watcher.once('ready', () => {
      void Promise.all(options.inputs.map(async (input) => digests.set(input, await digestInput(input)))).then(() => {
        resolve();
      });
    });
  });

  return {
    ready,
    async close() {
      closed = true;
      timer?.cancel();
      await watcher.close();
    },
  };
}

/** Events in a watched file's directory matter only for that file or Kubernetes' `..data` machinery. */
function relevant(path: string, inputs: readonly WatchedInput[]): boolean {
  const name = basename(path);
  return inputs.some((input) => (input.kind === 'templates' ? dirname(path) === input.path || path === input.path : name === basename(input.path) || name.startsWith('..')));
}
