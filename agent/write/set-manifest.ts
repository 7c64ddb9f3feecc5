// The manifest of the current generation of sets, `<output>/.secrets-agent/sets.json`: which templates each set had
// and where their files are, so a set whose template fails to load keeps exactly its files, and a file that left
// its set is known as such. Names and paths only, never a value. Saved before `..data` is swapped, with the entry of
// the generation it replaces (`previous`): after a crash or a failed swap in between, `..data` still names that one,
// and its entry is what is read (marked stale, so the next commit saves it again). A manifest that names neither is
// ignored.
import { constants } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_DIR, agentDir } from '../store/provenance.js';
import { writeFileAtomic } from './atomic.js';
import { MANIFEST } from './set-layout.js';

type Sets = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface Manifest {
  readonly generation: string;
  /** Set name → template name → destination relative to the output directory. */
  readonly sets: Sets;
  /** Saved: the entry of the generation this one replaces. */
  readonly previous?: { readonly generation: string; readonly sets: Sets } | undefined;
  /** Read: the entry came from `previous` (the swap it was saved for never happened); save it again. */
  readonly stale?: boolean;
}

function isRecordOf<T>(value: unknown, item: (v: unknown) => v is T): value is Record<string, T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(item);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isMembers = (value: unknown): value is Record<string, string> => isRecordOf(value, isString);

/**
 * Why: `.secrets-agent/` is reached through a handle opened without following a link, so a link planted in its place
 * (the output directory may be writable by others) is neither read nor written through.
 */
async function withAgentDir<T>(dir: string, use: (path: string) => Promise<T>): Promise<T> {
  const handle: FileHandle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const stats = await handle.stat();
    const via = `/proc/self/fd/${handle.fd}`;
    const reached = await stat(via).catch(() => undefined);
    return await use(reached?.dev === stats.dev && reached.ino === stats.ino ? via : dir);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The sets of `generation`, or undefined when there is no manifest, it is unreadable, or it names neither generation. */
export async function readManifest(base: string, generation: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await withAgentDir(join(base, AGENT_DIR), async (dir) => {
      // O_NONBLOCK: a FIFO in its place cannot block the commit (and every later one) forever.
      const handle = await open(join(dir, MANIFEST), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
        return await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    });
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { generation?: unknown; sets?: unknown; previous?: { generation?: unknown; sets?: unknown } | null };
    if (parsed.generation === generation && isRecordOf(parsed.sets, isMembers)) return { generation, sets: parsed.sets };
    const previous = parsed.previous;
    if (typeof previous === 'object' && previous !== null && previous.generation === generation && isRecordOf(previous.sets, isMembers)) return { generation, sets: previous.sets, stale: true };
    return undefined;
  } catch {
    return undefined;
  }
}

/** Save (atomically, 0600, through the pinned base) or, with undefined, remove the manifest. */
export async function saveManifest(base: string, manifest: Manifest | undefined): Promise<void> {
  await withAgentDir(await agentDir(base), async (dir) => {
    const path = join(dir, MANIFEST);
    if (manifest === undefined) {
      await unlink(path).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
      return;
    }
    const saved = { generation: manifest.generation, sets: manifest.sets, ...(manifest.previous === undefined ? {} : { previous: manifest.previous }) };
    await writeFileAtomic({ path, content: `${JSON.stringify(saved, null, 2)}\n`, mode: 0o600, tempDir: dir });
  });
}
