// Shared by the notifier tests: scratch directories, a captured logger, polling for a real process to act, and
// stand-in applications (the hup-recorder.sh fixture) started under a unique process name.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import pino from 'pino';
import type { Logger } from '../../agent/log/logger.js';

export const fixtures = fileURLToPath(new URL('../fixtures/notify/', import.meta.url));

/** Why: every test gets its own directory, removed even when the test fails. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'secrets-agent-notify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Why: real processes act in their own time; poll until `probe` returns a value (a safety limit, not an assertion). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, limitMs = 15_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Why: the file's content, or undefined while it does not exist yet. */
export async function readIfExists(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

/** Why: log assertions need every line the code under test wrote, as text and as parsed records. */
export function captureLog(): { log: Logger; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(chunk.toString('utf8')); done(); } });
  const log = pino({ level: 'debug', base: null }, stream);
  const text = () => chunks.join('');
  return { log, text, lines: () => text().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Why: a process name no other process has: `sa-` and 8 hex digits, within the kernel's 15-byte comm. */
export function uniqueName(): string {
  return `sa-${randomBytes(4).toString('hex')}`;
}

export interface App {
  pid: number;
  /** How many SIGHUPs the app has recorded so far. */
  hups: () => Promise<number>;
}

/** Why: a real non-Node process that traps SIGHUP, running as `name` (its comm), killed when the test ends. */
export async function startApp(t: ExecutionContext, dir: string, name: string): Promise<App> {
  const script = join(dir, name);
  // A second app of the same name shares the script; rewriting it under a running shell would corrupt its read.
  const copied = await copyFile(join(fixtures, 'hup-recorder.sh'), script, constants.COPYFILE_EXCL).then(() => true, () => false);
  if (copied) await chmod(script, 0o755);
  const out = join(dir, `${name}-${randomBytes(4).toString('hex')}.log`);
  const child = spawn(script, [out], { stdio: 'ignore' });
  t.teardown(() => { child.kill('SIGKILL'); });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${script}`);
  await waitFor(`${name} to set its trap`, async () => ((await readIfExists(out))?.includes('ready') === true ? true : undefined));
  const hups = async () => ((await readIfExists(out)) ?? '').split('\n').filter((line) => line === 'HUP').length;
  return { pid, hups };
}
