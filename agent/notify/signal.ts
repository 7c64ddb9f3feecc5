// The `signal` notifier (docs/operations.md "Notifiers"): send a signal to the PID written in `pidFile`, or to the
// process whose executable name or argv[0] is `process`, found by scanning /proc. Several processes of that name
// that form one tree (a pre-fork server's master and its workers: gunicorn, nginx, uwsgi, puma) are one target,
// the topmost. Naming a process needs the agent and the application to share a PID namespace (Kubernetes
// shareProcessNamespace, Compose `pid: service:<app>`).
import { constants } from 'node:fs';
import { open, readFile, readdir, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Notifier } from '../config/notifiers.js';
import { AgentError } from '../errors.js';
import { errorCode } from './common.js';

/** Either form of the signal notifier: `{ signal, process, all }` or `{ signal, pidFile }`. */
export type SignalNotifier = Extract<Notifier, { signal: unknown }>;

export interface SignalOptions {
  /** Where the process table is mounted; tests point it at a fake tree. Default `/proc`. */
  procRoot?: string;
  /** The agent's own pid, never a target. Default `process.pid`. */
  selfPid?: number;
  /** Sends the signal; default `process.kill`. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/** What a scan saw of one process: each name it can be matched by (absent when unreadable). */
export interface ProcessNames {
  pid: number;
  /** The parent's pid, from /proc/<pid>/stat. */
  ppid?: number;
  comm?: string;
  exe?: string;
  argv0?: string;
}

/** Linux PID_MAX_LIMIT: no pid is larger. */
const PID_MAX = 4_194_304;

// Why: the one entry point the dispatcher calls; both forms end in a list of pids that were signalled.
/** Send the notifier's signal; resolves with the pids signalled, or throws ERR_NOTIFY saying why none could be. */
export async function sendSignal(notifier: SignalNotifier, options: SignalOptions = {}): Promise<{ pids: number[] }> {
  const pids = 'pidFile' in notifier ? [await pidFileTarget(notifier.pidFile, options)] : await targetsByName(notifier.process, notifier.all, options);
  const failures: string[] = [];
  for (const pid of pids) {
    const problem = deliver(pid, notifier.signal, options.kill ?? ((target, signal) => process.kill(target, signal)));
    if (problem !== undefined) failures.push(problem);
  }
  if (failures.length > 0) {
    const source = 'pidFile' in notifier ? ` (from pidFile ${notifier.pidFile})` : '';
    throw new AgentError('ERR_NOTIFY', `could not send ${notifier.signal}${source}: ${failures.join('; ')}`, { details: { signal: notifier.signal, pids: pids.join(',') } });
  }
  return { pids };
}

// Why: a pid file is written by another program; anything but a plain positive pid is refused, not guessed at.
/** The pid written in `path` (surrounding whitespace allowed); ERR_NOTIFY when unreadable or not a pid. */
export async function readPidFile(path: string): Promise<number> {
  const text = await readSmallRegularFile(path);
  const trimmed = text.trim();
  const pid = /^[0-9]{1,7}$/.test(trimmed) ? Number(trimmed) : 0;
  if (pid < 1 || pid > PID_MAX) {
    throw new AgentError('ERR_NOTIFY', `pidFile ${path} does not hold a process id (expected one positive integer)`, { details: { pidFile: path } });
  }
  return pid;
}

/** More than a pid and its whitespace ever take; a longer file is not read. */
const PID_FILE_MAX_BYTES = 64;

// Why: the pid file often sits in a volume the application writes. A FIFO put in its place would block a plain
// read forever (and one of libuv's four threads with it, which every file write of the agent needs), a device or
// a huge file would be read whole; it is opened without blocking and read only when it is a small regular file.
async function readSmallRegularFile(path: string): Promise<string> {
  const details = { details: { pidFile: path } };
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new AgentError('ERR_NOTIFY', `cannot read pidFile ${path}: ${errorCode(error)}`, details);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new AgentError('ERR_NOTIFY', `pidFile ${path} is not a regular file`, details);
    const buffer = Buffer.alloc(PID_FILE_MAX_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > PID_FILE_MAX_BYTES) throw new AgentError('ERR_NOTIFY', `pidFile ${path} does not hold a process id (expected one positive integer)`, details);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } catch (error) {
    if (error instanceof AgentError) throw error;
    throw new AgentError('ERR_NOTIFY', `cannot read pidFile ${path}: ${errorCode(error)}`, details);
  } finally {
    await handle.close();
  }
}

// Why: a pid file outlives its process (a volume kept across container restarts), and pids are small and reused
// in a container: the stale pid may now be the agent's own, which would reload, refresh or stop itself.
async function pidFileTarget(path: string, options: SignalOptions): Promise<number> {
  const pid = await readPidFile(path);
  if (pid === (options.selfPid ?? process.pid)) {
    throw new AgentError('ERR_NOTIFY', `pidFile ${path} holds the agent's own pid ${pid} (a stale file?); not signalled`, { details: { pidFile: path, pids: String(pid) } });
  }
  return pid;
}

// Why: zero matches, or several unrelated servers, mean the wrong process (or none) would be told to reload.
async function targetsByName(name: string, all: boolean, options: SignalOptions): Promise<number[]> {
  const found = await scanProcesses(name, options);
  const pids = found.map((proc) => proc.pid);
  if (pids.length === 0) {
    throw new AgentError('ERR_NOTIFY', `no process named "${name}" is running (is the PID namespace shared? Kubernetes: shareProcessNamespace: true; Compose: pid: "service:<app>")`, { details: { process: name } });
  }
  if (all) return pids;
  const roots = topmost(found, await parents(options.procRoot ?? '/proc'));
  if (roots.length > 1) {
    throw new AgentError('ERR_NOTIFY', `${roots.length} unrelated processes are named "${name}" (pids ${roots.join(', ')}, each the top of its own tree); set all: true to signal every one, or use pidFile`, { details: { process: name, pids: roots.join(',') } });
  }
  return roots;
}

/**
 * The matches that have no matching ancestor: the master of each pre-fork tree. A worker is recognised by walking
 * up its parents (through any non-matching intermediate, as uwsgi's emperor or a shell wrapper may be) to a match.
 */
export function topmost(found: readonly ProcessNames[], parentOf: ReadonlyMap<number, number>): number[] {
  const matched = new Set(found.map((proc) => proc.pid));
  const roots: number[] = [];
  for (const proc of found) {
    let ancestor = proc.ppid ?? parentOf.get(proc.pid);
    let isWorker = false;
    for (let hops = 0; ancestor !== undefined && ancestor > 1 && hops < 64; hops++) {
      if (matched.has(ancestor)) {
        isWorker = true;
        break;
      }
      ancestor = parentOf.get(ancestor);
    }
    if (!isWorker) roots.push(proc.pid);
  }
  return roots.sort((a, b) => a - b);
}

/** pid → parent pid of every process visible in `procRoot`. */
async function parents(procRoot: string): Promise<Map<number, number>> {
  const entries = await readdir(procRoot).catch(() => [] as string[]);
  const pairs = await Promise.all(entries.filter((entry) => /^[0-9]+$/.test(entry)).map(async (entry) => {
    const stat = await readFile(join(procRoot, entry, 'stat'), 'utf8').catch(() => undefined);
    const ppid = stat === undefined ? undefined : parentOfStat(stat);
    return ppid === undefined ? undefined : ([Number(entry), ppid] as const);
  }));
  return new Map(pairs.filter((pair): pair is readonly [number, number] => pair !== undefined));
}

/** The ppid field of /proc/<pid>/stat (the 4th; after the command, which may hold spaces and parentheses). */
function parentOfStat(stat: string): number | undefined {
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 1).trim().split(' ')[1]);
  return Number.isInteger(ppid) && ppid >= 0 ? ppid : undefined;
}

// Why: the scan is the whole of "find by name"; exported so tests can run it against a fake /proc tree.
/** Pids (ascending) of live processes whose comm, executable basename or argv[0] basename is `name`. */
export async function findProcesses(name: string, options: Pick<SignalOptions, 'procRoot' | 'selfPid'> = {}): Promise<number[]> {
  return (await scanProcesses(name, options)).map((proc) => proc.pid);
}

/** The live processes named `name`, ascending by pid, with their parents. */
async function scanProcesses(name: string, options: Pick<SignalOptions, 'procRoot' | 'selfPid'>): Promise<ProcessNames[]> {
  const procRoot = options.procRoot ?? '/proc';
  const selfPid = options.selfPid ?? process.pid;
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch (error) {
    throw new AgentError('ERR_NOTIFY', `cannot list processes in ${procRoot}: ${errorCode(error)}`, { details: { process: name } });
  }
  const pids = entries.filter((entry) => /^[0-9]+$/.test(entry)).map(Number).filter((pid) => pid !== selfPid);
  const seen = await Promise.all(pids.map((pid) => processNames(pid, procRoot)));
  return seen.filter((proc): proc is ProcessNames => proc !== undefined && matches(proc, name)).sort((a, b) => a.pid - b.pid);
}

// Why: each name source fails on its own (exe needs ptrace rights, kernel threads have no cmdline); use what is readable.
/** The names one process can be matched by, or undefined when it is gone or a zombie (which cannot act on a signal). */
export async function processNames(pid: number, procRoot = '/proc'): Promise<ProcessNames | undefined> {
  const dir = join(procRoot, String(pid));
  const [stat, comm, exe, cmdline] = await Promise.all([
    readFile(join(dir, 'stat'), 'utf8').catch(() => undefined),
    readFile(join(dir, 'comm'), 'utf8').catch(() => undefined),
    readlink(join(dir, 'exe')).catch(() => undefined),
    readFile(join(dir, 'cmdline'), 'utf8').catch(() => undefined),
  ]);
  if (stat === undefined && comm === undefined) return undefined;
  if (stat !== undefined && stat.slice(stat.lastIndexOf(')') + 1).trim().startsWith('Z')) return undefined;
  const names: ProcessNames = { pid };
  const ppid = stat === undefined ? undefined : parentOfStat(stat);
  if (ppid !== undefined) names.ppid = ppid;
  if (comm !== undefined && comm.trim() !== '') names.comm = comm.replace(/\n$/, '');
  if (exe !== undefined) names.exe = basename(exe.replace(/ \(deleted\)$/, ''));
  const argv0 = cmdline?.split('\0')[0];
  if (argv0 !== undefined && argv0 !== '') names.argv0 = basename(argv0);
  return names;
}

/** The kernel keeps this many bytes of a process's name in comm (TASK_COMM_LEN - 1). */
const COMM_BYTES = 15;

// Why: comm is cut to 15 bytes by the kernel, so a long name still matches through exe or argv[0]; and a comm of
// 15 bytes may be the head of a longer name: when exe or argv[0] shows that longer name, comm is not a match
// (process "my-app-server-2" would otherwise signal "my-app-server-24" too).
function matches(proc: ProcessNames, name: string): boolean {
  if (proc.exe === name || proc.argv0 === name) return true;
  if (proc.comm !== name) return false;
  if (Buffer.byteLength(name) < COMM_BYTES) return true;
  return ![proc.exe, proc.argv0].some((full) => full !== undefined && full.length > name.length && full.startsWith(name));
}

// Why: a process may exit between the scan and the signal; each failure is named without stopping the others.
function deliver(pid: number, signal: NodeJS.Signals, kill: (pid: number, signal: NodeJS.Signals) => void): string | undefined {
  try {
    kill(pid, signal);
    return undefined;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ESRCH') return `no process ${pid} is running (stale pid, or the PID namespace is not shared)`;
    if (code === 'EPERM') return `not permitted to signal process ${pid} (run the agent as the application's user, or grant CAP_KILL)`;
    return `process ${pid}: ${code}`;
  }
}
