// Real temporary directories for the write tests, removed when the test ends.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** Why: every test gets its own fresh directory under os.tmpdir(), cleaned up even when the test fails. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'secrets-agent-write-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Why: a temp file holds secrets, so tests check none is left anywhere in a directory tree. */
export async function leftoverTempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((name) => name.endsWith('.tmp'));
}
