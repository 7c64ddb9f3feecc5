// Real processes for the benchmarks: spawn with a timestamp, read RSS and CPU time from /proc, wait for
// exit. Linux only (the benchmarks read /proc); every figure is taken from the kernel, not from the process.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { performance } from 'node:perf_hooks';

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** performance.now() just before spawn(). */
  readonly started: number;
  /** Resolves at exit with the code and the wall time since `started` in ms. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  stderr(): string;
  stdout(): string;
  /** Called with every complete stderr line as it arrives. */
  onLine(listener: (line: string, at: number) => void): void;
}

/**
 * Spawn with a timestamp. With `stderrFile`, the child's stderr goes to that regular file instead of a pipe (a
 * file never pushes back, so a burst of log lines cannot stall a child that writes fd 2 synchronously) and is
 * followed by polling.
 */
export function spawnTimed(command: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string; stderrFile?: string } = {}): Spawned {
  const fd = options.stderrFile === undefined ? undefined : openSync(options.stderrFile, 'w+');
  const started = performance.now();
  const child = spawn(command, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env }, cwd: options.cwd, stdio: ['ignore', 'pipe', fd ?? 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, ms: performance.now() - started });
    });
  });
  let stderr = '';
  let stdout = '';
  let partial = '';
  const listeners: Array<(line: string, at: number) => void> = [];
  const take = (chunk: string): void => {
    stderr += chunk;
    if (listeners.length === 0) return;
    const at = performance.now();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) for (const listener of listeners) listener(line, at);
  };
  if (fd === undefined) {
    child.stderr?.setEncoding('utf8').on('data', take);
  } else {
    let position = 0;
    const buffer = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder('utf8');
    const drain = (): void => {
      for (let read = readSync(fd, buffer, 0, buffer.length, position); read > 0; read = readSync(fd, buffer, 0, buffer.length, position)) {
        position += read;
        take(decoder.write(buffer.subarray(0, read)));
      }
    };
    const timer = setInterval(drain, 10);
    void exited.then(() => {
      clearInterval(timer);
      drain();
      closeSync(fd);
    });
  }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  if (child.pid === undefined) throw new Error(`cannot spawn ${command}`);
  return { child, pid: child.pid, started, exited, stderr: () => stderr, stdout: () => stdout, onLine: (listener) => { listeners.push(listener); } };
}

/** Resident set size of `pid` in bytes (VmRSS), or NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set size of `pid` in bytes (VmHWM), or NaN when the process is gone. */
export function peakRssBytes(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

let ticks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK; 100 on every Linux we know). */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU time of `pid` in seconds (utime + stime of /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces or parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` every `every` ms until it is true; throws after `ms` with `what`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000, every = 5): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stop(spawned: Spawned, graceMs = 6000): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill('SIGTERM');
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}
