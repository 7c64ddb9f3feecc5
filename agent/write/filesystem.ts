// Is the output directory memory-backed (docs/configuration.md requireTmpfs)? Secrets written to a disk-backed
// filesystem outlive the pod and may end up in backups or on reused volumes.
import { statfs } from 'node:fs/promises';
import { AgentError } from '../errors.js';

export interface FilesystemInfo {
  /** A short name (`tmpfs`, `ext4`, ...) or the magic number in hex (`0x1234abcd`) when unknown. */
  type: string;
  /** True for tmpfs and ramfs: the files live in memory only. */
  memory: boolean;
}

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** statfs(2) f_type magic numbers (linux/magic.h) for the filesystems an output dir is likely to be on. */
const names: ReadonlyMap<number, string> = new Map([
  [TMPFS_MAGIC, 'tmpfs'],
  [RAMFS_MAGIC, 'ramfs'],
  [0xef53, 'ext4'], // shared by ext2, ext3 and ext4
  [0x794c7630, 'overlayfs'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x6969, 'nfs'],
  [0x2fc12fc1, 'zfs'],
  [0x65735546, 'fuse'],
  [0x01021997, '9p'],
]);

/** Why: maps a statfs magic number to a name and memory flag, testable without mounting anything. */
export function describeFilesystem(magic: number | bigint): FilesystemInfo {
  const value = Number(BigInt.asUintN(32, BigInt(magic))); // f_type may arrive sign-extended
  return {
    type: names.get(value) ?? `0x${value.toString(16)}`,
    memory: value === TMPFS_MAGIC || value === RAMFS_MAGIC,
  };
}

/** Why: asks the kernel which filesystem holds `dir`, so the agent can warn or refuse before writing secrets. */
export async function checkOutputFilesystem(dir: string): Promise<FilesystemInfo> {
  try {
    const stats = await statfs(dir);
    return describeFilesystem(stats.type);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new AgentError('ERR_WRITE', `output directory ${dir}: statfs failed: ${code}`, {
      cause: error,
      details: { path: dir, operation: 'statfs', errno: code },
    });
  }
}

/** Why: applies the requireTmpfs policy — a warning by default, a refusal to start when requireTmpfs is set. */
export async function assertOutputFilesystem(dir: string, requireTmpfs: boolean): Promise<{ warning?: string }> {
  const info = await checkOutputFilesystem(dir);
  if (info.memory) return {};
  if (requireTmpfs) {
    throw new AgentError(
      'ERR_OUTPUT_NOT_TMPFS',
      `output directory ${dir} is on ${info.type}, not tmpfs/ramfs, and requireTmpfs is set: secrets would be stored on disk; ` +
        'mount a tmpfs there (Kubernetes emptyDir medium: Memory; Docker --tmpfs) or set requireTmpfs: false',
      { details: { path: dir, filesystem: info.type } },
    );
  }
  return {
    warning:
      `output directory ${dir} is on ${info.type}, not tmpfs/ramfs: secrets are stored on disk; ` +
      'mount a tmpfs (Kubernetes emptyDir medium: Memory) or set requireTmpfs',
  };
}
