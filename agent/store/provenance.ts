// Provenance (docs/design.md "Provenance"): which backend served each path of the chain for one output
// directory — backend names only, never values. Once a backend served a path, no lower backend serves it again:
// not during an outage, not after a reload, not after a restart on the same volume (the map is kept in
// <output>/.secrets-agent/provenance.json), not after the serving backend says "not found".
import { constants } from 'node:fs';
import { lstat, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKEND_NAMES } from '../backends/names.js';
import type { BackendName } from '../backends/backend.js';
import { isVersionKey } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import { writeFileAtomic } from '../write/atomic.js';

/** The agent's own directory inside the output directory (0700): provenance and temp files. */
export const AGENT_DIR = '.secrets-agent';
const FILE = 'provenance.json';
const NAMES: ReadonlySet<string> = new Set<string>(BACKEND_NAMES);
/** What `refKey` makes of a current-version reference: its kind, a colon, a path with no empty segment. */
const KEY = /^(?:value|map):[^/]+(?:\/[^/]+)*$/;

/** Keys are reference keys (`value:app/db/password`, `map:exchange/binance`), values backend names. */
export class Provenance {
  readonly #owners = new Map<string, BackendName>();
  /** The keys recorded since the map was loaded or last saved: what this process learned, newer than the file. */
  readonly #dirty = new Set<string>();
  /** True when the map differs from the file it was loaded from or last saved to. */
  #changed = false;

  /** The backend that last served `key` through the chain, if any. */
  owner(key: string): BackendName | undefined {
    return this.#owners.get(key);
  }

  /** The backends that served a key of the secret at `path` as a value (`value:<path>/<key>`). */
  *ownersOfKeys(path: string): Iterable<BackendName> {
    const prefix = `value:${path}/`;
    for (const [key, backend] of this.#owners) if (key.startsWith(prefix) && !key.includes('/', prefix.length)) yield backend;
  }

  /** Remember that `backend` served `key`. */
  record(key: string, backend: BackendName): void {
    if (this.#owners.get(key) === backend) return;
    this.#owners.set(key, backend);
    this.#dirty.add(key);
    this.#changed = true;
  }

  /** Whether `save` has anything to write: a cycle that served every path from the same backends writes nothing. */
  get changed(): boolean {
    return this.#changed;
  }

  get size(): number {
    return this.#owners.size;
  }

  /** The document written to disk: sorted, so an unchanged map writes the same bytes. */
  serialize(): string {
    const owners = Object.fromEntries([...this.#owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return `${JSON.stringify({ version: 1, owners }, null, 2)}\n`;
  }

  /**
   * The provenance kept in `output`, or an empty one when the directory has none yet (a new volume). A file that
   * cannot be read or parsed is an error: starting clean would let a lower backend serve what a higher one held.
   */
  static async load(output: string): Promise<Provenance> {
    const provenance = new Provenance();
    const path = join(output, AGENT_DIR, FILE);
    let text: string;
    try {
      // Why O_NONBLOCK and the type check: a FIFO put in its place would block the start forever on open or read.
      const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' });
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return provenance;
      throw new AgentError('ERR_PROVENANCE_FILE', `cannot read ${path}: ${code ?? (error as Error).message}; remove it only if this volume may start clean (lower backends may then serve paths a higher one held)`, { cause: error, details: { path } });
    }
    const bad = (why: string): AgentError => new AgentError('ERR_PROVENANCE_FILE', `${path}: ${why}; remove it only if this volume may start clean (lower backends may then serve paths a higher one held)`, { details: { path } });
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw bad('not valid JSON');
    }
    const owners = (document as { owners?: unknown } | null)?.owners;
    if ((document as { version?: unknown } | null)?.version !== 1 || typeof owners !== 'object' || owners === null || Array.isArray(owners)) throw bad('not a version 1 provenance document');
    for (const [key, backend] of Object.entries(owners)) {
      // Why: a key the store never looks up (a hand edit without `value:`) would silently leave that path unprotected.
      if (!KEY.test(key) || isVersionKey(key)) throw bad(`"${key}" is not a reference key (value:<path> or map:<path>)`);
      if (typeof backend !== 'string' || !NAMES.has(backend)) throw bad(`"${key}" names an unknown backend`);
      provenance.record(key, backend as BackendName);
    }
    provenance.#changed = false;
    provenance.#dirty.clear();
    return provenance;
  }

  /** Write the map into `output` when it changed since it was loaded or last saved (atomic, 0600, in a 0700 directory). */
  async save(output: string): Promise<void> {
    if (!this.#changed) return;
    const dir = await agentDir(output);
    // Why: `once` run beside `run` on the same volume keeps its own map; a save that wrote only this process's map
    // would drop the paths only the other one served, or put back an owner the other replaced since (Vault, where
    // this process still says AWS), and a restart would let a lower backend serve them. Each path keeps its latest
    // owner: this process's for what it recorded since its last save, else the file's. A file that no longer parses
    // is replaced, as before.
    await this.refresh(output);
    await writeFileAtomic({ path: join(dir, FILE), content: this.serialize(), mode: 0o600 });
    this.#changed = false;
    this.#dirty.clear();
  }

  /**
   * Take in what another process (`once` beside `run`) saved in `output` since: paths this one does not know, and
   * owners it did not record itself since its last save. A file that cannot be read or parsed changes nothing.
   */
  async refresh(output: string): Promise<void> {
    const kept = await Provenance.load(output).catch(() => undefined);
    // Why `changed` stays: what is taken in is what the file already says.
    if (kept) for (const [key, backend] of kept.#owners) if (!this.#dirty.has(key)) this.#owners.set(key, backend);
  }
}

/** `<output>/.secrets-agent`, created 0700 when missing; refused when it is a symlink or not a directory. */
export async function agentDir(output: string): Promise<string> {
  const dir = join(output, AGENT_DIR);
  await mkdir(dir, { mode: 0o700 }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  const stats = await lstat(dir);
  const refuse = (why: string, message: string): AgentError => new AgentError('ERR_DESTINATION', `${dir} ${message}`, { details: { path: dir, why } });
  if (stats.isSymbolicLink() || !stats.isDirectory()) throw refuse('it is a symlink or a file, not a directory', 'is not a directory (a symlink or a file); the agent keeps its own files there and refuses to follow it');
  // Why the owner: whoever owns it can swap a temp file between its fsync and its rename, putting their bytes in a
  // destination. In an output directory others can write to (a sticky /tmp-like volume), another user could make it
  // before the agent's first start. The output directory's owner is accepted too: on a mount that shows every file
  // as one uid (NFS root_squash, CIFS uid=) the agent's own directory is not its uid.
  const euid = process.geteuid?.();
  if (euid !== undefined && stats.uid !== euid) {
    const volume = (await stat(output)).uid;
    if (stats.uid !== volume) {
      const why = `it belongs to uid ${stats.uid}, neither the agent's (${euid}) nor the output directory's owner (${volume})`;
      throw refuse(why, `${why}: another user made it, and its owner could replace the agent's temp files before they are renamed into place; remove it`);
    }
  }
  return dir;
}
