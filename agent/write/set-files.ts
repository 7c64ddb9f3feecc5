// File operations of a set generation (agent/write/set.ts): every path here is under a generation directory that no
// reader can reach yet (it is not linked), or is the generation a reader reaches through `..data`, only read.
import { constants } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentError } from '../errors.js';
import { AGENT_DIR } from '../store/provenance.js';
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

/**
 * Why: the output directory may be writable by others (a Kubernetes emptyDir is 0777), who can make a
 * generation-shaped directory or rename one of the agent's and plant a link in its place. The agent's own
 * directories are owned by its euid, or by the uid its entries get on this filesystem where a mount shows every
 * file as one uid (NFS root_squash, CIFS `uid=`): that of `.secrets-agent/`, which the agent made. Those are not
 * writable by others, and only those are read, carried from or removed.
 */
async function agentUids(base: string): Promise<ReadonlySet<number> | undefined> {
  const euid = process.geteuid?.();
  if (euid === undefined) return undefined;
  const stats = await lstat(join(base, AGENT_DIR)).catch(() => undefined);
  return new Set(stats?.isDirectory() === true ? [euid, stats.uid] : [euid]);
}

function isOurs(stats: Stats, uids: ReadonlySet<number> | undefined): boolean {
  return stats.isDirectory() && (uids === undefined || uids.has(stats.uid));
}

/** Why: `/proc/self/fd/N` reaches the opened directory itself, whatever its name names later (else the name). */
async function throughHandle(handle: FileHandle, stats: Stats, fallback: string): Promise<string> {
  const via = `/proc/self/fd/${handle.fd}`;
  const reached = await stat(via).catch(() => undefined);
  return reached?.dev === stats.dev && reached.ino === stats.ino ? via : fallback;
}

/** The generation `..data` names, when it is the agent's: a generation-shaped name of a real directory the agent owns. */
export async function currentGeneration(base: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await readlink(join(base, DATA_LINK));
  } catch {
    return undefined;
  }
  if (!isGenerationName(target)) return undefined;
  const stats = await lstat(join(base, target)).catch(() => undefined);
  return stats !== undefined && isOurs(stats, await agentUids(base)) ? target : undefined;
}

/** A generation directory held open: `path` reaches it through the handle, whatever its name names later. */
export interface OpenGeneration {
  readonly handle: FileHandle;
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/**
 * Open a generation by name without following a link, refused (EPERM) when the agent does not own it. Every later
 * access goes through `/proc/self/fd/N` (as for the output directory, agent/write/output.ts), so a name swapped for a
 * link to another directory afterwards sends no file there, and no file is carried or removed from there.
 */
export async function openGeneration(base: string, name: string): Promise<OpenGeneration> {
  const path = join(base, name);
  const handle = await open(path, OPEN_DIRECTORY);
  try {
    const stats = await handle.stat();
    if (!isOurs(stats, await agentUids(base))) throw Object.assign(new Error(`${path} is not owned by the agent`), { code: 'EPERM', foreign: true });
    return { handle, path: await throughHandle(handle, stats, path), dev: stats.dev, ino: stats.ino };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Why: rm -r by name follows a directory swapped for a link between its lstat and its readdir. Each sub-directory
 * here is opened without following a link and emptied through its handle; entries are unlinked by their name in a
 * directory reached through a handle, so nothing outside the opened tree is ever removed.
 */
async function emptyDirectory(path: string): Promise<void> {
  const gone = (error: unknown): void => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  };
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    const handle = entry.isDirectory() ? await open(child, OPEN_DIRECTORY).catch(() => undefined) : undefined;
    if (handle === undefined) {
      await unlink(child).catch(gone); // a file, or a directory swapped for a link since the listing: the entry itself
      continue;
    }
    try {
      await emptyDirectory(await throughHandle(handle, await handle.stat(), child));
    } finally {
      await handle.close().catch(() => undefined);
    }
    await rmdir(child).catch(gone);
  }
}

/** Does `path` still name the opened generation (not a link or a directory swapped in since)? */
export async function stillNames(path: string, opened: OpenGeneration): Promise<boolean> {
  const stats = await lstat(path).catch(() => undefined);
  return stats !== undefined && stats.isDirectory() && stats.dev === opened.dev && stats.ino === opened.ino;
}

/** Why: a directory another user made is left alone, and is not a failure to report. */
export function isForeign(error: unknown): boolean {
  return (error as { foreign?: unknown } | undefined)?.foreign === true;
}

/**
 * Remove a generation of the agent's: its entries through the handle (rm by name would follow a link swapped in
 * between its checks, and delete another tree), then the name, only while it still names that directory. A
 * directory the agent does not own is refused (EPERM, isForeign) and left as it is.
 */
export async function removeGeneration(base: string, name: string, opened?: OpenGeneration): Promise<void> {
  const dir = opened ?? (await openGeneration(base, name));
  try {
    await emptyDirectory(dir.path);
    if (await stillNames(join(base, name), dir)) await rmdir(join(base, name));
  } finally {
    if (opened === undefined) await dir.handle.close().catch(() => undefined);
  }
}
