// File operations of a set generation (agent/write/set.ts): every path here is under a generation directory that no
// reader can reach yet (it is not linked), or is the generation a reader reaches through `..data`, only read.
import { constants } from 'node:fs';
import type { Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentError } from '../errors.js';
import { DATA_LINK, isGenerationName } from './set-layout.js';

/** One file of a generation as the set wants it. */
export interface WantedFile {
  readonly content: Buffer;
  readonly mode: number;
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
}

/** Why: every failure names the operator's path and the step, never the content (like agent/write/atomic.ts). */
export function setWriteError(shown: string, operation: string, cause: unknown): AgentError {
  if (cause instanceof AgentError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  return new AgentError('ERR_WRITE', `write ${shown}: ${operation} failed: ${code}`, { cause, details: { path: shown, operation, errno: code } });
}

/** Regular files under `dir` (relative paths), never through a symlink; a missing directory has none. */
export async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(rel === '' ? dir : join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const name = rel === '' ? entry.name : join(rel, entry.name);
      if (entry.isDirectory()) await walk(name);
      else if (entry.isFile()) files.push(name);
    }
  };
  await walk('');
  return files.sort();
}

/** Directories of a generation: 0755 like kubelet's, so the uid a template names can reach its file; files keep their modes. */
const DIRECTORY_MODE = 0o755;

/** Make the directories on the way to `rel` inside a fresh generation; returns those made, for the fsync. */
export async function makeParents(generation: string, rel: string, made: Set<string>): Promise<void> {
  const parent = dirname(rel);
  if (parent === '.' || made.has(parent)) return;
  await makeParents(generation, parent, made);
  await mkdir(join(generation, parent), { mode: DIRECTORY_MODE });
  await open(join(generation, parent), constants.O_RDONLY | constants.O_DIRECTORY).then((h) => h.chmod(DIRECTORY_MODE).finally(() => h.close()));
  made.add(parent);
}

/** Create a file of a fresh generation: exclusive, the final owner and exact mode before a byte is written, fsynced. */
export async function createFile(path: string, wanted: WantedFile): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, wanted.mode & 0o777);
  try {
    if (wanted.uid !== undefined || wanted.gid !== undefined) await handle.chown(wanted.uid ?? -1, wanted.gid ?? -1);
    await handle.chmod(wanted.mode); // after fchown, which may clear set-id bits; exact despite the umask
    await handle.writeFile(wanted.content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Why: a file of an unchanged or held set is the same inode in the new generation (a hard link: generation files are
 * never modified, only created), so carrying it costs no read of a secret; a copy when the filesystem refuses links.
 */
export async function carryFile(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
  }
  const source = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stats = await source.stat();
    await createFile(to, { content: await source.readFile(), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid });
  } finally {
    await source.close();
  }
}

/** What is at a name now, without following it: absent, a file, the agent's link with its target, or a directory. */
export async function entryKind(path: string): Promise<'absent' | 'file' | 'link' | 'directory' | 'other'> {
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return 'link';
    if (stats.isFile()) return 'file';
    if (stats.isDirectory()) return 'directory';
    return 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
}

/** The generation `..data` names, when it is the agent's: a generation-shaped name of a real directory. */
export async function currentGeneration(base: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await readlink(join(base, DATA_LINK));
  } catch {
    return undefined;
  }
  if (!isGenerationName(target)) return undefined;
  return (await entryKind(join(base, target))) === 'directory' ? target : undefined;
}
