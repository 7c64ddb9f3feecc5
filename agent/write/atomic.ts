// Atomic, durable, exact-mode file replacement (docs/design.md "The output directory"): readers see the old bytes or the new bytes, never a
// mix; a file whose bytes, mode and owner already match is not touched; no temp file survives any failure.
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AgentError } from '../errors.js';

export interface WriteFileAtomicOptions {
  /** Absolute destination path (already checked by assertSafeTarget). */
  path: string;
  content: string | Buffer;
  /** Permission bits, e.g. 0o600; applied exactly, whatever the process umask. */
  mode: number;
  uid?: number;
  gid?: number;
}

/** Why: every failure carries the same shape — path, operation, errno — and never the content. */
function writeError(path: string, operation: string, cause: unknown): AgentError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  return new AgentError('ERR_WRITE', `write ${path}: ${operation} failed: ${code}`, {
    cause,
    details: { path, operation, errno: code },
  });
}

/** Why: bad numbers must fail before any file is created, with a message that names the path. */
function validate(options: WriteFileAtomicOptions): void {
  const { path, mode, uid, gid } = options;
  const bad = (what: string): AgentError => new AgentError('ERR_WRITE', `write ${path}: invalid ${what}`, { details: { path } });
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw bad(`mode ${String(mode)}`);
  if (uid !== undefined && (!Number.isInteger(uid) || uid < 0 || uid >= 0xffffffff)) throw bad(`uid ${String(uid)}`);
  if (gid !== undefined && (!Number.isInteger(gid) || gid < 0 || gid >= 0xffffffff)) throw bad(`gid ${String(gid)}`);
}

/** Why: "unchanged" must mean byte-identical, same mode and same owner, read without following a symlink. */
async function isUnchanged(options: WriteFileAtomicOptions, bytes: Buffer): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(options.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false; // missing, a symlink, unreadable: the write below replaces it or reports why it cannot
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size !== bytes.length || (stats.mode & 0o7777) !== options.mode) return false;
    if (options.uid !== undefined && stats.uid !== options.uid) return false;
    if (options.gid !== undefined && stats.gid !== options.gid) return false;
    return bytes.equals(await handle.readFile());
  } catch {
    return false;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Why: keeps the temp name within NAME_MAX (255 bytes) even for a destination name near that limit. */
function shortened(name: string): string {
  let result = '';
  for (const char of name) {
    if (Buffer.byteLength(result + char) > 200) break;
    result += char;
  }
  return result;
}

/** Why: flushes the rename itself to disk; filesystems that cannot fsync a directory (EINVAL, ENOTSUP) are tolerated. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync().catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'ENOTSUP') throw error;
    });
  } finally {
    await handle.close();
  }
}

/** Why: the one way the agent puts secrets on disk — atomically, with the exact mode and owner, only when changed. */
export async function writeFileAtomic(options: WriteFileAtomicOptions): Promise<{ changed: boolean }> {
  validate(options);
  const { path, mode, uid, gid } = options;
  const bytes = typeof options.content === 'string' ? Buffer.from(options.content, 'utf8') : options.content;
  if (await isUnchanged(options, bytes)) return { changed: false };

  const dir = dirname(path);
  const tmp = join(dir, `.${shortened(basename(path))}.${randomBytes(8).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let handle: FileHandle | undefined;
  let created = false;
  let step = 'create temp file';
  try {
    // Created with the final mode (narrowed further by the umask), so it is never readable more widely than `mode`.
    handle = await open(tmp, flags, mode & 0o777);
    created = true;
    if (uid !== undefined || gid !== undefined) {
      step = 'fchown';
      await handle.chown(uid ?? -1, gid ?? -1);
    }
    step = 'fchmod'; // after fchown, which may clear set-id bits; makes the mode exact despite the umask
    await handle.chmod(mode);
    step = 'write';
    await handle.writeFile(bytes);
    step = 'fsync';
    await handle.sync();
    step = 'close';
    const closing = handle;
    handle = undefined;
    await closing.close();
    step = 'rename';
    await rename(tmp, path);
    created = false;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    const failure = writeError(path, step, error);
    if (created) {
      await unlink(tmp).catch((unlinkError: unknown) => {
        failure.details['tempFileLeft'] = tmp; // reported, never silently left behind
        failure.details['tempUnlinkError'] = (unlinkError as NodeJS.ErrnoException).code;
      });
    }
    throw failure;
  }
  try {
    await syncDirectory(dir);
  } catch (error) {
    throw writeError(path, 'fsync directory (the file was replaced)', error);
  }
  return { changed: true };
}
