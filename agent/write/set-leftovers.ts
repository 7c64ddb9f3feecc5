// What a `kill -9` in the middle of a set commit can leave (agent/write/set.ts), removed at start with the temp files
// (agent/write/output.ts): a generation that was being written and never linked, or a previous one that was not yet
// removed — any `..<timestamp>` directory that `..data` does not point to — and temp symlinks in `.secrets-agent/`.
// Only those exact shapes, never through a symlink, and only directories the agent owns (agent/write/set-files.ts):
// one another user made in a shared output directory is not the agent's to remove. The generation `..data` names is
// never touched.
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_DIR } from '../store/provenance.js';
import { currentGeneration, isForeign, removeGeneration } from './set-files.js';
import { isGenerationName, isTempLinkName } from './set-layout.js';

export interface SetLeftovers {
  /** Orphan generations removed (names in the output directory). */
  readonly generations: string[];
  /** Temp symlinks removed (`.secrets-agent/link-<hex>.tmp`). */
  readonly links: string[];
  readonly failed: Array<{ name: string; code: string }>;
}

export async function removeSetLeftovers(base: string): Promise<SetLeftovers> {
  const result: SetLeftovers = { generations: [], links: [], failed: [] };
  const fail = (name: string) => (error: unknown): void => {
    result.failed.push({ name, code: (error as NodeJS.ErrnoException).code ?? 'unknown error' });
  };
  const current = await currentGeneration(base);
  for (const entry of await readdir(base, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || !isGenerationName(entry.name) || entry.name === current) continue;
    await removeGeneration(base, entry.name).then(
      () => result.generations.push(entry.name),
      (error: unknown) => {
        if (!isForeign(error)) fail(entry.name)(error);
      },
    );
  }
  // `.secrets-agent` replaced by a link: its target is not the agent's directory, nothing in it is removed.
  const agentDirIsReal = (await lstat(join(base, AGENT_DIR)).catch(() => undefined))?.isDirectory() === true;
  for (const entry of agentDirIsReal ? await readdir(join(base, AGENT_DIR), { withFileTypes: true }).catch(() => []) : []) {
    if (!entry.isSymbolicLink() || !isTempLinkName(entry.name)) continue;
    const name = join(AGENT_DIR, entry.name);
    await unlink(join(base, name)).then(() => result.links.push(name), fail(name));
  }
  result.generations.sort();
  result.links.sort();
  return result;
}
