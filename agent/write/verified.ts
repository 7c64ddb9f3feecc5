// Files the agent has read and found byte-identical to what it wanted, and how they looked when it did
// (docs/design.md "The output directory"). An unchanged cycle over 1,000 files would otherwise open, read and close
// every one of them; with this, a file whose inode, size, mode, owner, mtime and ctime are all as they were at that
// verified read costs one lstat.
//
// Why the ctime makes this safe: the kernel sets it on every change to the file's bytes or attributes, and no
// system call sets it back (utimes sets mtime and atime, and moves ctime to now). The one hole is a change within
// the same timestamp tick as the change before it (tmpfs and ext4 stamp with a coarse clock, ~4 ms), so, as git does
// with its "racily clean" entries, a read is remembered only once the file's ctime is SETTLE_MS in the past.
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { WantedFile } from './atomic.js';

/** How old a file's last change must be before a verified read of it is remembered. */
export const SETTLE_MS = 1000;
/** Bound on the remembered files: set generations are new paths at each change, so old entries would pile up. */
export const MAX_ENTRIES = 20_000;

interface Entry {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly digest: string;
}

function digestOf(content: Buffer): string {
  return createHash('sha256').update(content).digest('base64');
}

function sameStats(entry: Entry, stats: BigIntStats): boolean {
  return entry.dev === stats.dev && entry.ino === stats.ino && entry.size === stats.size && entry.mode === stats.mode && entry.uid === stats.uid && entry.gid === stats.gid && entry.mtimeNs === stats.mtimeNs && entry.ctimeNs === stats.ctimeNs;
}

export class VerifiedFiles {
  readonly #entries = new Map<string, Entry>();
  /** How the last answers were reached, for tests and benchmarks: by lstat alone, or not at all (a read follows). */
  readonly counts = { byStat: 0, missed: 0 };

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Remember a read that found `content` at `path`; `stats` are the file's, taken before the read (a change after
   * them gives the file a newer ctime than remembered, so it is read again).
   */
  record(path: string, stats: BigIntStats, content: Buffer, now: number): void {
    if (stats.ctimeNs > BigInt(now - SETTLE_MS) * 1_000_000n) return; // racily clean: read again next time
    if (this.#entries.size >= MAX_ENTRIES && !this.#entries.has(path)) this.#entries.clear();
    const { dev, ino, size, mode, uid, gid, mtimeNs, ctimeNs } = stats;
    this.#entries.set(path, { dev, ino, size, mode, uid, gid, mtimeNs, ctimeNs, digest: digestOf(content) });
  }

  /** True when `path` is, by its lstat, the file last verified there and `wanted` is what was verified. */
  async matches(path: string, wanted: WantedFile): Promise<boolean> {
    const entry = this.#entries.get(path);
    if (entry === undefined) return false;
    const stats = await lstat(path, { bigint: true }).catch(() => undefined);
    const same =
      stats !== undefined &&
      stats.isFile() &&
      sameStats(entry, stats) &&
      Number(stats.mode & 0o7777n) === wanted.mode &&
      (wanted.uid === undefined || stats.uid === BigInt(wanted.uid)) &&
      (wanted.gid === undefined || stats.gid === BigInt(wanted.gid)) &&
      entry.digest === digestOf(wanted.content);
    if (same) this.counts.byStat++;
    else {
      this.counts.missed++;
      this.#entries.delete(path);
    }
    return same;
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The process's one memory of verified files (paths are absolute, through the pinned output directory). */
export const verified = new VerifiedFiles();
