// Where a template's output goes (docs/templates.md): always a regular file strictly inside the output directory,
// reached through real directories only, never through or onto a symlink; the output directory itself is a real
// directory, and the one pinned at start (agent/write/output.ts).
import { lstat, mkdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AgentError } from '../errors.js';
import { AGENT_DIR } from '../store/provenance.js';
import { checkOutputDirectory } from './output.js';

/** Why: one place builds the ERR_DESTINATION error so every refusal names the destination and the reason. */
function refuse(destination: string, why: string): AgentError {
  return new AgentError('ERR_DESTINATION', `destination ${JSON.stringify(destination)} refused: ${why}`, {
    details: { destination, reason: why },
  });
}

/** Why: a relative path that climbs out (`..`, `../x`) or jumps elsewhere (another root) is outside. */
function escapes(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** Why: templates name their destination relative to the output dir; this is the only way to turn it into a path. */
export function resolveDestination(outputDir: string, destination: string): string {
  if (destination.length === 0) throw refuse(destination, 'the name is empty');
  if (destination.includes('\0')) throw refuse(destination, 'the name contains a NUL byte');
  if (isAbsolute(destination)) throw refuse(destination, 'it is absolute; it must be relative to the output directory');
  if (destination.endsWith('/')) throw refuse(destination, 'it ends with "/", which names a directory, not a file');
  const root = resolve(outputDir);
  const absPath = resolve(root, destination);
  const rel = relative(root, absPath);
  if (rel === '') throw refuse(destination, `it is the output directory ${root} itself, not a file inside it`);
  if (escapes(rel)) throw refuse(destination, `it resolves to ${absPath}, outside the output directory ${root}`);
  if (rel.split(sep)[0] === AGENT_DIR) throw refuse(destination, `it is inside ${join(root, AGENT_DIR)}, the agent's own directory`);
  // `..data` and the `..<timestamp>` generations of sets live there (agent/write/set-layout.ts), as in Kubernetes volumes.
  if (rel.startsWith('..')) throw refuse(destination, 'it starts with "..", which the output directory reserves for the agent\'s sets (..data and its generations)');
  return absPath;
}

/** Why: lstat that turns "does not exist" into undefined and any other failure into a refusal naming the path. */
async function lstatOrUndefined(path: string, shown: string, absPath: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    if (code === 'ENOENT') return undefined;
    throw new AgentError('ERR_DESTINATION', `destination ${absPath} refused: cannot inspect ${shown}: ${code}`, {
      cause: error,
      details: { path: absPath, component: shown },
    });
  }
}

/** Why: a short, value-free description of what sits at a path, for refusal messages. */
function kind(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symlink';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  return 'not a regular file (device, socket or FIFO)';
}

/**
 * Why: each intermediate directory must be real (not a symlink that could lead outside); missing ones are made 0700.
 * `path` is where it is reached (maybe through the pinned directory's handle), `shown` the name an operator knows.
 */
async function ensureRealDirectory(path: string, shown: string, absPath: string): Promise<void> {
  let stats = await lstatOrUndefined(path, shown, absPath);
  if (stats === undefined) {
    try {
      // mkdir never follows a symlink at the last component: a symlink planted here makes it fail with EEXIST.
      await mkdir(path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
        throw new AgentError('ERR_DESTINATION', `destination ${absPath} refused: cannot create directory ${shown}: ${code}`, {
          cause: error,
          details: { path: absPath, directory: shown },
        });
      }
    }
    stats = await lstatOrUndefined(path, shown, absPath);
    if (stats === undefined) {
      throw new AgentError('ERR_DESTINATION', `destination ${absPath} refused: directory ${shown} vanished`, { details: { path: absPath } });
    }
  }
  if (stats.isSymbolicLink() || !stats.isDirectory()) {
    throw new AgentError('ERR_DESTINATION', `destination ${absPath} refused: path component ${shown} is ${kind(stats)}, not a real directory`, {
      details: { path: absPath, component: shown },
    });
  }
}

/**
 * Why: resolveDestination only checks the name; this checks the filesystem right before a write: the output
 * directory is a real directory (the pinned one, when a command prepared it — else ERR_OUTPUT_DIR), every
 * directory on the way is real (missing ones are created), and the target is absent or a regular file.
 * Returns the destination's path under the output directory, which is what writeOutputFile takes.
 */
export async function assertSafeTarget(outputDir: string, absPath: string): Promise<string> {
  return (await prepareTarget(outputDir, absPath)).path;
}

/**
 * assertSafeTarget, also returning the base its output directory check gave (agent/write/output.ts), which
 * writeOutputFile takes so that one write checks the directory once before and once right before the rename.
 */
export async function prepareTarget(outputDir: string, absPath: string): Promise<{ path: string; base: string }> {
  const root = resolve(outputDir);
  const rel = relative(root, resolve(absPath));
  if (rel === '' || escapes(rel)) {
    throw new AgentError('ERR_DESTINATION', `destination ${absPath} refused: it is not a file inside the output directory ${outputDir}`, {
      details: { path: absPath },
    });
  }
  const base = await checkOutputDirectory(root);
  const parts = rel.split(sep);
  let current = '';
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    await ensureRealDirectory(join(base, current), join(root, current), absPath);
  }
  const stats = await lstatOrUndefined(join(base, rel), join(root, rel), absPath);
  // The agent's own visible link of a set (`name -> ..data/name`), left when the template moved out of its set: the
  // write renames over the link itself, never through it.
  if (stats?.isSymbolicLink() === true && parts.length === 1 && (await readlink(join(base, rel)).catch(() => '')) === `..data/${rel}`) return { path: join(root, rel), base };
  if (stats !== undefined && (stats.isSymbolicLink() || !stats.isFile())) {
    throw new AgentError('ERR_DESTINATION', `destination ${absPath} refused: it exists and is ${kind(stats)}, not a regular file`, {
      details: { path: absPath },
    });
  }
  return { path: join(root, rel), base };
}
