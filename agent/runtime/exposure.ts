// Can the application take the agent's credentials? (docs/operations.md "Security model", docs/docker.md
// "Non-dumpable"). A process of the same UID reads /proc/<pid>/environ, /proc/<pid>/mem and /proc/<pid>/root/ of
// every *dumpable* process of that UID it can see. So the agent is exposed when all three hold:
//   1. it holds a Vault or AWS credential (in its environment, Vault configured with a way to log in, or AWS in
//      the chain);
//   2. it is dumpable: for a non-root agent, /proc/self/environ is owned by its own UID (the kernel hands a
//      non-dumpable process's /proc files to root). Root is always counted as dumpable: everything under
//      /proc/self is root's either way, and an execute-only node does not help root, which reads every file
//      (checked on Linux 6.18: a root node started from a 0711 binary keeps a readable environ);
//   3. a process of its UID that is not its own ancestor or descendant is visible in /proc (a shared PID
//      namespace: Kubernetes shareProcessNamespace, docker --pid=container:, or no namespace at all).
// An ancestor of the same UID that is dumpable counts as the agent being dumpable: it was started with the same
// environment and sees the same files (`docker run --init`: docker-init, a readable binary, is PID 1 and holds
// VAULT_TOKEN in its environ; /proc/1/root/ shows the agent's token file).
// /proc is read through `procRoot`, so the whole rule runs on a fake tree in tests.
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { SECRET_ENV_NAMES } from '../notify/env.js';

/** What the start-up check found; the `isolation` field of /v1/status. Names and numbers only, never a value. */
export interface Exposure {
  /** True when the three conditions hold: the one warn line and the ERR_CREDENTIALS_EXPOSED code. */
  readonly exposed: boolean;
  /** Set when exposed: the stable code of the warning (docs/errors.md). */
  readonly code?: 'ERR_CREDENTIALS_EXPOSED';
  /** What the agent holds: `vault (token)`, `env AWS_SECRET_ACCESS_KEY`, ... Empty: nothing to take, not checked. */
  readonly credentials: readonly string[];
  /** Why the check could not run (no /proc), when it could not. */
  readonly unknown?: string;
  readonly uid?: number;
  readonly dumpable?: boolean;
  /** Ancestors of the agent's UID that are dumpable (an init or a shell that started it). */
  readonly dumpableAncestors?: readonly { pid: number; name: string }[];
  /** Visible processes of the agent's UID outside its own tree (a few, for the log line). */
  readonly foreign?: readonly { pid: number; name: string }[];
  readonly foreignCount?: number;
}

export interface ExposureOptions {
  /** Default `/proc`. */
  readonly procRoot?: string;
  /** The agent's effective UID; default process.geteuid(). */
  readonly uid?: number;
}

/** The credentials the agent holds, by name: Vault when it is in the chain and can log in, AWS when it is in the chain, every credential variable set. */
export function heldCredentials(config: Config, backends: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const held: string[] = [];
  const { auth } = config.vault;
  if (backends.includes('vault') && (auth.method !== 'token' || auth.token !== undefined || auth.tokenFile !== undefined)) held.push(`vault (${auth.method})`);
  // Why AWS whatever its source: the SDK keeps what its default chain found (a profile's keys from a file of the
  // agent's, web identity, container or instance credentials) in the agent's memory.
  if (backends.includes('aws')) held.push('aws (default chain)');
  // Why every name, whatever the chain: a variable in the agent's environment is in /proc/<pid>/environ even
  // when no backend uses it.
  for (const name of SECRET_ENV_NAMES) if ((env[name] ?? '') !== '') held.push(`env ${name}`);
  return held;
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  name: string;
  uids: number[];
}

/** Check whether the agent's credentials are within reach of another process of its UID. */
export async function assessExposure(credentials: readonly string[], options: ExposureOptions = {}): Promise<Exposure> {
  if (credentials.length === 0) return { exposed: false, credentials };
  const procRoot = options.procRoot ?? '/proc';
  const uid = options.uid ?? process.geteuid?.() ?? -1;
  let self: number;
  try {
    self = Number(await readlink(join(procRoot, 'self')));
  } catch {
    return { exposed: false, credentials, unknown: `${procRoot}/self cannot be read (not Linux, or no /proc mounted)` };
  }
  const isDumpable = async (pid: number): Promise<boolean> => uid === 0 || (await stat(join(procRoot, String(pid), 'environ')).catch(() => undefined))?.uid === uid;
  const dumpable = await isDumpable(self);
  const entries = await processes(procRoot);
  const foreign = foreignOf(self, uid, entries);
  const dumpableAncestors: { pid: number; name: string }[] = [];
  for (const entry of ancestorsOf(self, entries)) if (entry.uids.includes(uid) && (await isDumpable(entry.pid))) dumpableAncestors.push({ pid: entry.pid, name: entry.name });
  const exposed = (dumpable || dumpableAncestors.length > 0) && foreign.length > 0;
  return {
    exposed,
    ...(exposed ? { code: 'ERR_CREDENTIALS_EXPOSED' as const } : {}),
    credentials,
    uid,
    dumpable,
    dumpableAncestors,
    foreign: foreign.slice(0, 5),
    foreignCount: foreign.length,
  };
}

/** The one warn line: the risk, who can take what, and the two fixes. */
export function exposureMessage(exposure: Exposure): string {
  const shown = (exposure.foreign ?? []).map(({ pid, name }) => `${pid} ${name}`).join(', ');
  const more = (exposure.foreignCount ?? 0) > (exposure.foreign?.length ?? 0) ? ` and ${(exposure.foreignCount ?? 0) - (exposure.foreign?.length ?? 0)} more` : '';
  const ancestors = (exposure.dumpableAncestors ?? []).map(({ pid, name }) => `${pid} ${name}`).join(', ');
  const which = exposure.dumpable === true ? 'is dumpable' : `was started by a dumpable process of its UID (${ancestors}) that shares its environment and files`;
  return `the agent holds credentials (${exposure.credentials.join(', ')}) and ${which}, and ${exposure.foreignCount ?? 0} process(es) of its UID ${exposure.uid ?? '?'} outside its process tree (${shown}${more}) can read its environment, memory and files through /proc; ` +
    'run it with an execute-only node binary as the image does (docs/docker.md "Non-dumpable"), or give the application another UID (docs/operations.md "Security model")';
}

/** The processes visible under `procRoot` that run as `uid` (any of their four UIDs) and are outside the tree of `self`, by pid. */
export async function foreignProcesses(procRoot: string, self: number, uid: number): Promise<{ pid: number; name: string }[]> {
  return foreignOf(self, uid, await processes(procRoot));
}

function foreignOf(self: number, uid: number, entries: ReadonlyMap<number, ProcessEntry>): { pid: number; name: string }[] {
  const tree = treeOf(self, entries);
  return [...entries.values()].filter((entry) => !tree.has(entry.pid) && entry.uids.includes(uid)).sort((a, b) => a.pid - b.pid).map(({ pid, name }) => ({ pid, name }));
}

/** Every process visible under `procRoot`: pid, parent, name, and real/effective/saved/filesystem UIDs. */
async function processes(procRoot: string): Promise<Map<number, ProcessEntry>> {
  const entries = new Map<number, ProcessEntry>();
  const names = (await readdir(procRoot)).filter((name) => /^\d+$/.test(name));
  await Promise.all(names.map(async (name) => {
    // Why ignore failures: a process may exit between readdir and readFile.
    const text = await readFile(join(procRoot, name, 'status'), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const field = (key: string): string => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
    entries.set(Number(name), {
      pid: Number(name),
      ppid: Number(field('PPid')),
      name: field('Name').trim(),
      // Why /status and not the directory's owner: a non-dumpable process's /proc entries are root's, but it can
      // still read ours; status reports its real UIDs whatever its dumpability.
      uids: field('Uid').split(/\s+/).filter(Boolean).map(Number),
    });
  }));
  return entries;
}

/** The visible ancestors of `self`, parent first. */
function ancestorsOf(self: number, entries: ReadonlyMap<number, ProcessEntry>): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  const seen = new Set<number>([self]);
  for (let entry = entries.get(entries.get(self)?.ppid ?? 0); entry !== undefined && !seen.has(entry.pid); entry = entries.get(entry.ppid)) {
    seen.add(entry.pid);
    found.push(entry);
  }
  return found;
}

/** The agent's own tree: itself, its ancestors (whoever started it) and its descendants (command notifiers). */
function treeOf(self: number, entries: ReadonlyMap<number, ProcessEntry>): Set<number> {
  const tree = new Set<number>([self, ...ancestorsOf(self, entries).map((entry) => entry.pid)]);
  const children = new Map<number, number[]>();
  for (const entry of entries.values()) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry.pid]);
  const queue = [self];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (tree.has(child)) continue;
      tree.add(child);
      queue.push(child);
    }
  }
  return tree;
}
