// Run `secrets-agent run` as a real child process and talk to it over its listener.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cli, onWorkerExit } from './cli.js';

export interface AgentProcess {
  /** The agent itself; `child.kill(signal)` signals only it (a clean stop, a reload), as before. */
  readonly child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Signal the agent's whole process group (default SIGKILL): the agent and anything it started in its group. */
  killGroup(signal?: NodeJS.Signals): void;
}

/** Process groups started by this test worker whose leader has not exited yet. */
const groups = new Set<number>();
let hooked = false;

function killAllGroups(): void {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  groups.clear();
}

/** Signal process group `pgid`; a group that is already gone is fine. */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Track a child spawned with `detached: true` (so it leads its own process group) and return the function that
 * signals that group. The group is SIGKILLed when its leader exits (nothing the test started may outlive it)
 * and when this test worker ends, even on a timeout, so a failed test never leaves processes behind.
 */
export function trackGroup(child: ChildProcess): (signal?: NodeJS.Signals) => void {
  const pgid = child.pid;
  if (pgid === undefined) return () => undefined;
  if (!hooked) {
    hooked = true;
    onWorkerExit(killAllGroups);
  }
  groups.add(pgid);
  child.once('exit', () => {
    // Why: while the leader lives its pid cannot be reused, so the group id is safe to signal; after it exits,
    // kill what is left at once and forget the id.
    if (groups.delete(pgid)) signalGroup(pgid, 'SIGKILL');
  });
  return (signal = 'SIGKILL') => {
    if (groups.has(pgid)) signalGroup(pgid, signal);
  };
}

/** A free loopback port (bound and released; good enough for a test on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  });
}

export function startAgent(args: readonly string[], env: Record<string, string> = {}): AgentProcess {
  // Why detached: the agent leads its own process group, so a teardown or the worker-exit hook can kill
  // everything it started, not only the agent.
  const child = spawn(process.execPath, [cli, 'run', ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = trackGroup(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.resume();
  // Why 'close', not 'exit': 'exit' can come before the last stderr bytes are read (the final log lines); 'close'
  // comes once the process has ended and its pipes are drained. Notifier children have pipes of their own.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => {
    resolve(code);
  }));
  return { child, stderr: () => stderr, exited, killGroup };
}

/**
 * Poll `check` every 25 ms until it returns true; false after `ms`. The bound only turns a broken build into a
 * failure instead of a hang; it is generous (20 s) so a loaded machine never trips it.
 */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(check).catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

/** A metric's value from the exposition text (the sum over matching label sets). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
