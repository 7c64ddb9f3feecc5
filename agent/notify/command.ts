// The `command` notifier (docs/design.md "The output directory"): run argv directly (no shell, so `;` or `$(...)` in an argument stay
// literal), with a timeout that sends SIGTERM and then SIGKILL to the command's whole process group. Output is
// counted, never kept: a reload script may echo a secret, and only byte counts and the exit status are logged.
import { spawn } from 'node:child_process';
import type { Notifier } from '../config/notifiers.js';
import { formatDuration } from '../config/duration.js';
import { AgentError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { errorCode } from './common.js';
import { childEnvironment } from './env.js';

export type CommandNotifier = Extract<Notifier, { command: unknown }>;

export interface CommandOptions {
  clock: Clock;
  /** Every secret value the agent holds; variables carrying one are kept from the child (see env.ts). */
  secretValues: () => Iterable<string>;
  /** The environment to start from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** How long a command may ignore SIGTERM before SIGKILL; default 5 s. */
  killGraceMs?: number;
}

/** How a command that ran to completion ended. */
export interface CommandOutcome {
  exitCode: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** Names of variables kept from the child's environment. */
  envDropped: string[];
}

export const DEFAULT_KILL_GRACE_MS = 5_000;
/** How long output may stay open after the command exited (a background child holding it). */
export const OUTPUT_DRAIN_MS = 250;

/** Process groups of commands still running, or timed out and not yet past their SIGKILL. */
const liveGroups = new Set<number>();
let exitHook = false;

// Why: a command's group is its own session (detached), so nothing kills it when the agent exits; a stop whose
// grace runs out (docs/operations.md "Stopping") or a second SIGTERM would leave a hung command running in the
// application's PID namespace, one more at every restart. Node's exit event runs synchronously, so SIGKILL.
function track(pgid: number): void {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const group of liveGroups) try { process.kill(-group, 'SIGKILL'); } catch { /* already gone */ }
    });
  }
  liveGroups.add(pgid);
}

// Why: the dispatcher's entry point; a non-zero exit, a death by signal, a timeout or a failed start is ERR_NOTIFY.
/** Run the command once; resolves when it exits 0, else throws ERR_NOTIFY with exit status and byte counts. */
export function runCommand(notifier: CommandNotifier, options: CommandOptions): Promise<CommandOutcome> {
  const [program, ...args] = notifier.command;
  if (program === undefined) return Promise.reject(new AgentError('ERR_NOTIFY', 'command notifier has no program to run'));
  const { env, dropped } = childEnvironment(options.env ?? process.env, options.secretValues());
  const child = spawn(program, args, { shell: false, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const pgid = child.pid;
  if (pgid !== undefined) track(pgid);
  const counts = { stdoutBytes: 0, stderrBytes: 0 };
  child.stdout.on('data', (chunk: Buffer) => { counts.stdoutBytes += chunk.length; });
  child.stderr.on('data', (chunk: Buffer) => { counts.stderrBytes += chunk.length; });

  return new Promise((resolve, reject) => {
    let killedWith: NodeJS.Signals | undefined;
    let timers: TimerHandle[] = [];
    let settled = false;
    // Why: the group, not just the leader, so a wrapper script's children cannot outlive the timeout.
    const killGroup = (signal: NodeJS.Signals) => {
      killedWith = signal;
      if (pgid === undefined) return;
      try { process.kill(-pgid, signal); } catch { /* already gone */ }
    };
    const deadline = options.clock.setTimeout(() => {
      killGroup('SIGTERM');
      options.clock.setTimeout(() => {
        killGroup('SIGKILL');
        if (pgid !== undefined) liveGroups.delete(pgid);
      }, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    }, notifier.timeout);
    timers.push(deadline);
    const finish = (error: AgentError | undefined) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) timer.cancel();
      timers = [];
      // What a command that ended in time leaves in its group is its own business (a daemon it started).
      if (killedWith === undefined && pgid !== undefined) liveGroups.delete(pgid);
      // The SIGKILL of a timeout is never cancelled: the leader dying of SIGTERM says nothing of the rest of its
      // group, and a member that ignores SIGTERM would outlive the timeout forever. A group already gone is ESRCH.
      if (error === undefined) resolve({ exitCode: 0, ...counts, envDropped: dropped });
      else reject(error);
    };
    child.on('error', (error) => {
      finish(new AgentError('ERR_NOTIFY', `command "${program}" could not start: ${errorCode(error)}`, { details: { program, ...counts } }));
    });
    const ended = (code: number | null, signal: NodeJS.Signals | null) => {
      finish(exitProblem(program, notifier.timeout, { code, signal, killedWith, ...counts }));
    };
    // A background process the command left behind may hold its output open: once the command itself has
    // exited, its output gets a moment to drain, then the command counts as finished without waiting further.
    child.on('exit', (code, signal) => {
      if (settled) return;
      deadline.cancel(); // it exited in time: the drain must not turn it into a timeout
      timers.push(options.clock.setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        ended(code, signal);
      }, OUTPUT_DRAIN_MS));
    });
    child.on('close', ended);
  });
}

interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  killedWith: NodeJS.Signals | undefined;
  stdoutBytes: number;
  stderrBytes: number;
}

// Why: one place turns how the process ended into the operator's sentence; undefined means success.
function exitProblem(program: string, timeoutMs: number, ending: Ending): AgentError | undefined {
  const { code, signal, killedWith, stdoutBytes, stderrBytes } = ending;
  const details = { program, stdoutBytes, stderrBytes, ...(code === null ? {} : { exitCode: code }), ...(signal === null ? {} : { signal }) };
  if (killedWith !== undefined) {
    return new AgentError('ERR_NOTIFY', `command "${program}" timed out after ${formatDuration(timeoutMs)} and was killed with ${killedWith}`, { details: { ...details, timedOut: true } });
  }
  if (signal !== null) return new AgentError('ERR_NOTIFY', `command "${program}" was killed by ${signal}`, { details });
  if (code !== 0) return new AgentError('ERR_NOTIFY', `command "${program}" exited with status ${String(code)}`, { details });
  return undefined;
}
