// The manifest of the current generation of sets, `<output>/.secrets-agent/sets.json`: which templates each set had
// and where their files are, so a set whose template fails to load keeps exactly its files, and a file that left
// its set is known as such. Names and paths only, never a value. Saved before `..data` is swapped; a manifest that
// names another generation than `..data` (a crash between the two) is ignored.
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_DIR, agentDir } from '../store/provenance.js';
import { writeFileAtomic } from './atomic.js';
import { MANIFEST } from './set-layout.js';

export interface Manifest {
  readonly generation: string;
  /** Set name → template name → destination relative to the output directory. */
  readonly sets: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

function isRecordOf<T>(value: unknown, item: (v: unknown) => v is T): value is Record<string, T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(item);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isMembers = (value: unknown): value is Record<string, string> => isRecordOf(value, isString);

/** The manifest of `generation`, or undefined when there is none, it is unreadable, or it names another generation. */
export async function readManifest(base: string, generation: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    const handle = await open(join(base, AGENT_DIR, MANIFEST), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { generation?: unknown; sets?: unknown };
    if (parsed.generation !== generation || !isRecordOf(parsed.sets, isMembers)) return undefined;
    return { generation, sets: parsed.sets };
  } catch {
    return undefined;
  }
}

/** Save (atomically, 0600, through the pinned base) or, with undefined, remove the manifest. */
export async function saveManifest(base: string, manifest: Manifest | undefined): Promise<void> {
  const dir = await agentDir(base);
  const path = join(dir, MANIFEST);
  if (manifest === undefined) {
    await unlink(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
    return;
  }
  await writeFileAtomic({ path, content: `${JSON.stringify(manifest, null, 2)}\n`, mode: 0o600, tempDir: dir });
}
