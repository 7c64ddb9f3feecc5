// Atomic, durable, exact-mode file replacement (docs/design.md "The output directory"): readers see the old bytes or the new bytes, never a
// mix; a file whose bytes, mode and owner already match is not touched; a failed write removes its temp file before
// it returns, and a file that cannot fit in the free space is refused before a byte of it is written.
import { constants } from 'node:fs';
import { open, rename, statfs, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AgentError } from '../errors.js';
import { verified } from './verified.js';

export interface WriteFileAtomicOptions {
  /** Absolute destination path (already checked by assertSafeTarget). */
  path: string;
  content: string | Buffer;
  /** Permission bits, e.g. 0o600; applied exactly, whatever the process umask. */
  mode: number;
  uid?: number;
  gid?: number;
  /**
   * Where the temp file is created: a directory on the destination's filesystem (rename cannot cross filesystems).
   * The agent passes `<output>/.secrets-agent` (agent/write/output.ts), as a function called only when the file
   * changed, so an unchanged file costs no directory check; the default is the destination's directory.
   */
  tempDir?: string | (() => Promise<string>);
  /** The path errors name when `path` is not the one an operator knows (a path through a pinned directory handle). */
  displayPath?: string;
  /** Awaited right before the rename; when it throws, nothing is renamed and the temp file is removed. */
  beforeRename?: () => Promise<void>;
}

/** Temp files of this version: `write-<16 hex>.tmp`, in the directory given as `tempDir`. */
const TEMP_NAME = /^write-[0-9a-f]{16}\.tmp$/;
/** Temp files of earlier versions: `.<destination name, at most 200 bytes>.<16 hex>.tmp`, next to the destination. */
const LEGACY_TEMP_NAME = /^\.([^/]+)\.[0-9a-f]{16}\.tmp$/s;

/** Why: a start removes the temp files a killed process left, and nothing else (agent/write/output.ts). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Why: earlier versions left `.<name>.<hex>.tmp` beside the destination; only that exact shape is removed. */
export function isLegacyTempName(name: string): boolean {
  const match = LEGACY_TEMP_NAME.exec(name);
  return match?.[1] !== undefined && Buffer.byteLength(match[1]) <= 200;
}

/** Why: every failure carries the same shape — path, operation, errno — and never the content. */
function writeError(path: string, operation: string, cause: unknown): AgentError {
  if (cause instanceof AgentError) return cause; // a refusal from beforeRename, already naming what it refused
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  return new AgentError('ERR_WRITE', `write ${path}: ${operation} failed: ${code}`, {
    cause,
    details: { path, operation, errno: code },
  });
}

/** Free bytes for this process on the filesystem of `dir` (root may use the reserved blocks); undefined when unknown. */
async function freeBytes(dir: string): Promise<{ free: number; block: number } | undefined> {
  try {
    const stats = await statfs(dir);
    if (stats.blocks <= 0 || stats.bsize <= 0) return undefined; // a filesystem that does not count its space
    const blocks = process.getuid?.() === 0 ? stats.bfree : stats.bavail;
    return { free: blocks * stats.bsize, block: stats.bsize };
  } catch {
    return undefined; // no statfs here: the write itself will say ENOSPC if it comes to that
  }
}

/** Bytes reserved by the writes in flight, per temp directory; a write that ends wakes those waiting for space. */
const reservations = new Map<string, { bytes: number; waiters: Array<() => void> }>();

/**
 * Why: a file larger than the free space would fill the volume with its temp file until the write fails, and every
 * write running beside it (the other templates of the cycle) would fail with ENOSPC too (docs/operations.md "The
 * output directory"). So a write first reserves its size: while other writes are in flight and it does not fit beside
 * them, it waits for them to end (a replaced file frees its old space), then checks again; once it would have the free
 * space to itself and still does not fit, it fails without writing a byte. Returns the release.
 */
async function reserveSpace(path: string, tempDir: string, size: number): Promise<() => void> {
  for (;;) {
    const space = await freeBytes(tempDir);
    if (space === undefined) return () => undefined;
    const needed = Math.ceil(size / space.block) * space.block;
    const held = reservations.get(tempDir);
    if (held !== undefined && needed + held.bytes > space.free) {
      await new Promise<void>((resolve) => {
        held.waiters.push(resolve);
      });
      continue;
    }
    if (needed > space.free) {
      throw new AgentError('ERR_WRITE', `write ${path}: free space check failed: ENOSPC (${size} bytes do not fit in the ${space.free} bytes free; nothing was written)`, {
        details: { path, operation: 'free space check', errno: 'ENOSPC', bytes: size, free: space.free },
      });
    }
    const entry = held ?? { bytes: 0, waiters: [] };
    reservations.set(tempDir, entry);
    entry.bytes += needed;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.bytes -= needed;
      if (entry.bytes === 0) reservations.delete(tempDir);
      for (const wake of entry.waiters.splice(0)) wake();
    };
  }
}

/** Why: bad numbers must fail before any file is created, with a message that names the path. */
function validate(options: WriteFileAtomicOptions): void {
  const { path, mode, uid, gid } = options;
  const bad = (what: string): AgentError => new AgentError('ERR_WRITE', `write ${path}: invalid ${what}`, { details: { path } });
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw bad(`mode ${String(mode)}`);
  if (uid !== undefined && (!Number.isInteger(uid) || uid < 0 || uid >= 0xffffffff)) throw bad(`uid ${String(uid)}`);
  if (gid !== undefined && (!Number.isInteger(gid) || gid < 0 || gid >= 0xffffffff)) throw bad(`gid ${String(gid)}`);
}

export interface WantedFile {
  readonly content: Buffer;
  readonly mode: number;
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
}

/**
 * Why: "unchanged" must mean byte-identical, same mode and same owner, read without following a symlink. A file
 * already compared equal and unchanged since (agent/write/verified.ts) costs one lstat instead of a read.
 */
export async function sameFile(path: string, wanted: WantedFile, now: () => number = Date.now): Promise<boolean> {
  if (await verified.matches(path, wanted)) return true;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false; // missing, a symlink, unreadable: the write below replaces it or reports why it cannot
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile() || stats.size !== BigInt(wanted.content.length) || Number(stats.mode & 0o7777n) !== wanted.mode) return false;
    if (wanted.uid !== undefined && stats.uid !== BigInt(wanted.uid)) return false;
    if (wanted.gid !== undefined && stats.gid !== BigInt(wanted.gid)) return false;
    if (!wanted.content.equals(await handle.readFile())) return false;
    verified.record(path, stats, wanted.content, now());
    return true;
  } catch {
    return false;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Why: flushes a rename itself to disk; filesystems that cannot fsync a directory (EINVAL, ENOTSUP) are tolerated. */
export async function syncDirectory(dir: string): Promise<void> {
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
  const { path } = options;
  const shown = options.displayPath ?? path;
  const bytes = typeof options.content === 'string' ? Buffer.from(options.content, 'utf8') : options.content;
  if (await sameFile(path, { content: bytes, mode: options.mode, uid: options.uid, gid: options.gid })) return { changed: false };

  const dir = dirname(path);
  const tempDir = typeof options.tempDir === 'function' ? await options.tempDir() : options.tempDir ?? dir;
  const release = await reserveSpace(shown, tempDir, bytes.length);
  try {
    await replace(options, bytes, tempDir, shown);
  } finally {
    release();
  }
  try {
    // The destination's directory holds the new entry; the temp directory only lost one, which no reader needs.
    await syncDirectory(dir);
  } catch (error) {
    throw writeError(shown, 'fsync directory (the file was replaced)', error);
  }
  return { changed: true };
}

/** Why: temp file with the final mode and owner, written, fsynced, checked, renamed; on any failure removed at once. */
async function replace(options: WriteFileAtomicOptions, bytes: Buffer, tempDir: string, shown: string): Promise<void> {
  const { path, mode, uid, gid } = options;
  const tmp = join(tempDir, `write-${randomBytes(8).toString('hex')}.tmp`);
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
    step = 'check the output directory';
    await options.beforeRename?.();
    step = 'rename';
    await rename(tmp, path);
    created = false;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    const failure = writeError(shown, step, error);
    // Removed before returning, so a write that filled the volume frees it before any other write runs into it.
    if (created) {
      await unlink(tmp).catch((unlinkError: unknown) => {
        failure.details['tempFileLeft'] = tmp; // reported, never silently left behind (and removed at the next start)
        failure.details['tempUnlinkError'] = (unlinkError as NodeJS.ErrnoException).code;
      });
    }
    throw failure;
  }
}
