// The full-volume fault tests mount a real 512 KiB tmpfs; this says why a run cannot (not root, no mount), so the
// tests skip locally with that reason and fail in CI (`needing`).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why a run here cannot mount the tmpfs, or undefined when it can (probed once, on a throwaway directory). */
export async function mountProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root, so no tmpfs can be mounted';
  const dir = await mkdtemp(join(tmpdir(), 'sa-tmpfs-probe-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir]);
    await run('umount', [dir]);
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0] ?? 'unknown error'}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
