// The output directory (docs/design.md "The output directory", docs/operations.md "The output directory"): a real
// directory, never a symlink; pinned by (device, inode) when a command prepares it, so a directory replaced while the
// agent runs (by another directory or by a link to one) is refused, never written into. The agent's temp files live
// in <output>/.secrets-agent/, and the first preparation in a process removes those an interrupted write left.
//
// Node has no openat(2)/renameat(2). The closest it allows: the pinned directory stays open, every write first checks
// that the path still opens (O_DIRECTORY | O_NOFOLLOW) to the pinned (device, inode), checks again right before the
// rename, and reaches its files through /proc/self/fd/<fd>/ — a path resolved from the open handle, not from the
// name — so a swap between a check and the rename cannot redirect the file into another directory. Without /proc the
// checks remain and the path is used.
import { constants } from 'node:fs';
import type { Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AgentError } from '../errors.js';
import { AGENT_DIR, agentDir } from '../store/provenance.js';
import { isLegacyTempName, isTempName, writeFileAtomic } from './atomic.js';
import type { WriteFileAtomicOptions } from './atomic.js';
import { removeSetLeftovers } from './set-leftovers.js';
import { isGenerationName } from './set-layout.js';

interface Pin {
  readonly dev: bigint;
  readonly ino: bigint;
  /** Kept open for the life of the process: what `base` resolves through. */
  readonly handle: FileHandle;
  /** `/proc/self/fd/<fd>` when that reaches the pinned directory, else the path itself. */
  readonly base: string;
}

/** Pinned output directories by absolute path; a process normally has one. */
const pins = new Map<string, Pin>();

const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function refuse(path: string, why: string, details: Record<string, string> = {}, cause?: unknown): AgentError {
  return new AgentError('ERR_OUTPUT_DIR', `output directory ${path} refused: ${why}`, { ...(cause === undefined ? {} : { cause }), details: { path, ...details } });
}

/** Why: a value-free description of what is at a path now, for refusals ("a symlink to /x", "missing"). */
async function whatIs(path: string): Promise<string> {
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return `a symlink to ${await readlink(path).catch(() => 'an unreadable target')}`;
    if (stats.isDirectory()) return 'a directory';
    if (stats.isFile()) return 'a regular file';
    return 'not a directory (device, socket or FIFO)';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'missing' : `not inspectable (${code ?? 'unknown error'})`;
  }
}

function replaced(path: string, pin: Pin, now: string): AgentError {
  return refuse(path, `it is no longer the directory the agent started with (now ${now}); nothing is written until the agent is restarted`, { pinned: `${pin.dev}:${pin.ino}` });
}

/** Why: opening the name itself, without following a link, is the only way to know what the name is right now. */
async function openDirectory(path: string, pin: Pin | undefined): Promise<{ handle: FileHandle; dev: bigint; ino: bigint }> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    const now = await whatIs(path);
    if (now === 'a directory') throw refuse(path, `cannot open it: ${code}`, {}, error); // EMFILE, EACCES: not a swap
    if (pin !== undefined) throw replaced(path, pin, now);
    if (now.startsWith('a symlink')) throw refuse(path, `it is ${now}; the agent writes only into a real directory, never through a link: set output to the directory itself`, {}, error);
    throw refuse(path, `it is ${now}, not a directory`, {}, error);
  }
  try {
    const stats = await handle.stat({ bigint: true });
    return { handle, dev: stats.dev, ino: stats.ino };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw refuse(path, `fstat failed: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`, {}, error);
  }
}

/** Why: `/proc/self/fd/<fd>/name` resolves through the open handle — openat(2) for a runtime that has no openat. */
async function handlePath(handle: FileHandle, dev: bigint, ino: bigint): Promise<string | undefined> {
  const viaHandle = `/proc/self/fd/${handle.fd}`;
  try {
    const stats = await stat(viaHandle, { bigint: true });
    if (stats.isDirectory() && stats.dev === dev && stats.ino === ino) return viaHandle;
  } catch {
    // no /proc: the checks before each write and before each rename remain
  }
  return undefined;
}

/**
 * Create the output directory when it is missing (0700, with its parents); refuse it when it is a symlink or not a
 * directory. Only the last component counts: `/var/run/secrets` through the distribution's `/var/run` link is fine.
 */
export async function ensureOutputDirectory(output: string): Promise<void> {
  const path = resolve(output);
  const now = await whatIs(path);
  if (now === 'missing') {
    try {
      await mkdir(path, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw refuse(path, `cannot create it: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`, {}, error);
    }
  } else if (now.startsWith('a symlink')) {
    throw refuse(path, `it is ${now}; the agent writes only into a real directory, never through a link: set output to the directory itself`);
  } else if (now !== 'a directory') {
    throw refuse(path, `it is ${now}, not a directory`);
  }
}

export interface PinResult {
  /** Temp files removed, relative to the output directory. */
  readonly removed: readonly string[];
  /** Temp files that could not be removed, with the errno. */
  readonly failed: ReadonlyArray<{ name: string; code: string }>;
  /** Set generations (`..<timestamp>/`) that `..data` does not point to, left by an interrupted commit, removed. */
  readonly removedGenerations?: readonly string[];
  /** Why `.secrets-agent/` could not be created, when it could not; every write will fail until it can. */
  readonly warning?: string;
}

/**
 * Pin the output directory for the life of the process. The first time a process pins a path, the temp files an
 * interrupted write left are removed; pinning the same path again (a SIGHUP reload) only checks that it is still the
 * pinned directory — a process still writing there must keep its temp files.
 */
export async function pinOutputDirectory(output: string): Promise<PinResult> {
  const path = resolve(output);
  const pinned = pins.get(path);
  const { handle, dev, ino } = await openDirectory(path, pinned);
  if (pinned !== undefined) {
    await handle.close();
    if (pinned.dev !== dev || pinned.ino !== ino) throw replaced(path, pinned, `another directory, device:inode ${dev}:${ino}`);
    return { removed: [], failed: [] };
  }
  const base = (await handlePath(handle, dev, ino)) ?? path;
  pins.set(path, { dev, ino, handle, base });
  const result = await removeLeftovers(base);
  // Created now so that it exists before the first write; when it cannot be (a full or read-only volume), each
  // write says why, template by template, and the agent keeps serving what it can.
  const problem = await agentDir(base).then(() => undefined, (error: unknown) => agentDirProblem(join(path, AGENT_DIR), error));
  return problem === undefined ? result : { ...result, warning: problem };
}

/** Why: agentDir names the path it was given (maybe a /proc handle path); the operator needs the real one. */
function agentDirProblem(dir: string, error: unknown): string {
  const why = error instanceof AgentError ? String(error.details['why'] ?? error.message) : ((error as NodeJS.ErrnoException).code ?? 'unknown error');
  return `${dir} cannot be used for temp files: ${why}`;
}

/** Forget a pin and close its handle (tests, and a library that is done with a directory). */
export async function unpinOutputDirectory(output: string): Promise<void> {
  const path = resolve(output);
  const pin = pins.get(path);
  pins.delete(path);
  await pin?.handle.close();
}

/**
 * Check, right before writing, that the output directory is a real directory and (when pinned) still the pinned
 * one; returns the base to write through (see the top of this file).
 */
export async function checkOutputDirectory(output: string): Promise<string> {
  const path = resolve(output);
  const pin = pins.get(path);
  const { handle, dev, ino } = await openDirectory(path, pin);
  await handle.close();
  if (pin === undefined) return path;
  if (pin.dev !== dev || pin.ino !== ino) throw replaced(path, pin, `another directory, device:inode ${dev}:${ino}`);
  return pin.base;
}

/**
 * Write one destination of `output` atomically: the checks above, the temp file in `<output>/.secrets-agent/` (the same
 * filesystem, so the rename is atomic), the output directory checked again right before the rename.
 */
export async function writeOutputFile(output: string, options: WriteFileAtomicOptions, checked?: { readonly base: string }): Promise<{ changed: boolean }> {
  const root = resolve(output);
  const rel = relative(root, resolve(options.path));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new AgentError('ERR_DESTINATION', `destination ${options.path} refused: it is not a file inside the output directory ${root}`, { details: { path: options.path } });
  }
  if (rel.split(sep)[0] === AGENT_DIR) {
    throw new AgentError('ERR_DESTINATION', `destination ${options.path} refused: it is inside ${join(root, AGENT_DIR)}, the agent's own directory`, { details: { path: options.path } });
  }
  // `checked`: the caller checked the directory a moment ago (prepareTarget); the check before the rename remains.
  const base = checked?.base ?? (await checkOutputDirectory(root));
  // Only a changed file needs the temp directory; an unchanged one is compared and left alone.
  const tempDir = async (): Promise<string> => {
    try {
      return await agentDir(base);
    } catch (error) {
      const code = error instanceof AgentError ? 'ENOTDIR' : ((error as NodeJS.ErrnoException).code ?? 'unknown error');
      throw new AgentError('ERR_WRITE', `write ${options.path}: create temp file failed: ${agentDirProblem(join(root, AGENT_DIR), error)}`, { cause: error, details: { path: options.path, operation: 'create temp file', errno: code } });
    }
  };
  return writeFileAtomic({
    ...options,
    path: join(base, rel),
    displayPath: options.path,
    tempDir,
    beforeRename: async () => {
      await checkOutputDirectory(root);
    },
  });
}

/**
 * Why: after `kill -9` the output directory must hold only destinations and `.secrets-agent/` (docs/operations.md
 * "The output directory").
 * Removes this version's temp files from `.secrets-agent/` and earlier versions' (`.<name>.<hex>.tmp`) anywhere in
 * the tree; only regular files of exactly those shapes, never through a symlink.
 */
async function removeLeftovers(base: string): Promise<PinResult> {
  const removed: string[] = [];
  const failed: Array<{ name: string; code: string }> = [];
  const walk = async (rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(base, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const name = rel === '' ? entry.name : join(rel, entry.name);
      if (entry.isDirectory() && !(rel === '' && isGenerationName(entry.name))) {
        await walk(name);
        continue;
      }
      if (!entry.isFile()) continue;
      if (!isLegacyTempName(entry.name) && !(rel === AGENT_DIR && isTempName(entry.name))) continue;
      try {
        await unlink(join(base, name));
        removed.push(name);
      } catch (error) {
        failed.push({ name, code: (error as NodeJS.ErrnoException).code ?? 'unknown error' });
      }
    }
  };
  await walk('');
  // A set commit interrupted (agent/write/set.ts): its temp links count as temp files; orphan generations are listed apart.
  const sets = await removeSetLeftovers(base);
  removed.push(...sets.links);
  failed.push(...sets.failed);
  return { removed: removed.sort(), failed, ...(sets.generations.length === 0 ? {} : { removedGenerations: sets.generations }) };
}
