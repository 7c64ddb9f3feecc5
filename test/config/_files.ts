// Test helper: write config files into a fresh temporary directory that is removed after the test.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** A temporary directory for one test, removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'secrets-agent-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Write `text` to `dir/name` (creating subdirectories) and return the absolute path. */
export async function writeIn(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, 'utf8');
  return path;
}
