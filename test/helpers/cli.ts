// Run the built CLI as a real child process, as an operator or an init container would.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Implementation, TestFn } from 'ava';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const cli = join(root, 'dist/agent/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `secrets-agent ...args` with exactly `env` (plus PATH), in `cwd`. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env }, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const exitHooks: Array<() => void> = [];
let exitHooksInstalled = false;

/**
 * Run `hook` (synchronously) when this test worker ends: a normal exit, or the SIGTERM AVA sends a worker that
 * timed out (t.teardown does not run then), SIGINT or SIGHUP. The signal is raised again afterwards, so the
 * worker still dies of it.
 */
export function onWorkerExit(hook: () => void): void {
  exitHooks.push(hook);
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const runAll = (): void => {
    for (const run of exitHooks.splice(0)) {
      try {
        run();
      } catch {
        // Best effort: one failing hook must not keep the others from running.
      }
    }
  };
  process.once('exit', runAll);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

const scratchDirs = new Set<string>();
let scratchHooked = false;

function removeScratchDirs(): void {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

/**
 * A scratch directory with the given files (relative path → content); removed by the returned cleanup, or when
 * the test worker ends if the cleanup never ran (a worker killed on a timeout).
 */
export async function scratch(files: Record<string, string>): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-e2e-'));
  if (!scratchHooked) {
    scratchHooked = true;
    onWorkerExit(removeScratchDirs);
  }
  scratchDirs.add(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return {
    dir,
    cleanup: async () => {
      await rm(dir, { recursive: true, force: true });
      scratchDirs.delete(dir);
    },
  };
}

/** Parse the JSON log lines a command wrote to stderr. */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** True when CI is set (CI=true, as CI systems and .ci/run set it): there a missing prerequisite fails, never skips. */
export const inCi = !['', '0', 'false', 'no'].includes((process.env['CI'] ?? '').trim().toLowerCase());

/** The command that installs Debian packages the tests need (what scripts/test-prereqs.sh runs as root). */
export function installCommand(packages: readonly string[]): string {
  return `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`;
}

/** Why Debian's python3-dotenv cannot be used (test/helpers/consumers.ts runs /usr/bin/python3), or undefined. */
export function pythonDotenvMissing(): string | undefined {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import dotenv'], { env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent-home' }, encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const why = probe.error ? '/usr/bin/python3 is missing' : '/usr/bin/python3 cannot import dotenv';
  return `python-dotenv is not installed (${why}); install it with: ${installCommand(['python3-dotenv'])}`;
}

/** Why Debian's gunicorn cannot be used, or undefined. */
export function gunicornMissing(): string | undefined {
  return existsSync('/usr/bin/gunicorn') ? undefined : `gunicorn is not installed (/usr/bin/gunicorn is missing); install it with: ${installCommand(['gunicorn'])}`;
}

/**
 * `test`, for a test that needs something the machine may lack. `missing` says what is missing (undefined: nothing
 * is). Then, locally, the test is registered as skipped with the reason in its title (AVA lists it under
 * "skipped"); in CI it fails with the reason, so CI never skips silently. Never a pass that checked nothing.
 */
export function needing(missing: string | undefined): (title: string, implementation: Implementation<[]>) => void {
  // Why require, not import: bench/ imports these helpers outside AVA, where loading 'ava' throws.
  const test = createRequire(import.meta.url)('ava') as TestFn;
  return (title, implementation) => {
    if (missing === undefined) test(title, implementation);
    else if (inCi) test(title, (t) => { t.fail(`CI=${process.env['CI'] ?? ''}: a missing prerequisite fails in CI: ${missing}`); });
    else test.skip(`${title} [skipped: ${missing}]`, implementation);
  };
}
