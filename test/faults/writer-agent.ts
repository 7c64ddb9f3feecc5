// The writer fault tests' agent: `secrets-agent run` (the built CLI) as a real process leading its own process group,
// so a kill -9 and the teardown reach it and anything it started; its stderr read as JSON log lines.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { trackGroup } from '../helpers/agent-process.js';
import { cli } from '../helpers/cli.js';

export interface WriterAgent {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  stderr(): string;
  /** The JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  /** Signal the whole process group (SIGKILL by default); the group is also killed when the test worker ends. */
  kill(signal?: NodeJS.Signals): void;
}

/** Start `secrets-agent <command> ...args` with only PATH in its environment. */
export function spawnAgent(args: readonly string[], command = 'run'): WriterAgent {
  const child = spawn(process.execPath, [cli, command, ...args], { detached: true, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 1_000_000) stderr = stderr.slice(stderr.indexOf('\n', stderr.length - 500_000) + 1);
  });
  // 'close', not 'exit': the last log lines are read by then (see test/helpers/agent-process.ts).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => {
    resolve(code);
  }));
  return {
    child,
    exited,
    stderr: () => stderr,
    lines: () => stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>),
    kill: trackGroup(child),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` every 20 ms until it holds; false after `ms` (a bound so a broken build fails, never hangs). */
export async function until(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(check).catch(() => false)) return true;
    await sleep(20);
  }
  return false;
}

/** Every `*.tmp` anywhere in a directory tree (both the current and the earlier writer's temp names end so). */
export async function tempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((name) => name.endsWith('.tmp')).sort();
}
