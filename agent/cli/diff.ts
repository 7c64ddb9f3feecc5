// `check --diff`: fetch every template's secrets, render in memory (runCycle with write:false) and show, per
// file, which keys (or lines) `once` would add, remove or change - names only, values redacted; nothing is
// written, no directory is created (docs/commands.md).
import { lstat, readFile, realpath } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { AgentError } from '../errors.js';
import { diffContent } from '../ops/content-diff.js';
import type { Change } from '../ops/content-diff.js';
import type { Template } from '../template/load.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore } from '../runtime/context.js';
import { memoryOf, renderPass } from '../runtime/pass.js';

const SIGN: Readonly<Record<Change['kind'], string>> = { added: '+', removed: '-', changed: '~' };

/** Print the diff of every template to stdout; returns the problems (render failures, unreadable files). */
export async function diffTemplates(context: CommandContext, templates: readonly Template[]): Promise<AgentError[]> {
  const out = context.io.stdout;
  const output = context.config.output;
  out.write(`diff against ${output} (what once would write; values redacted, nothing written):\n`);
  // The output directory's provenance, read only: the diff shows what `once` would write, lower backends included.
  const store = await createStore(context, { memory: await memoryOf(output) });
  const problems: AgentError[] = [];
  let changed = 0;
  try {
    const report = await renderPass({ context, store, templates, write: false });
    for (const result of report.results) {
      const title = `${result.template.name} -> ${result.path ?? result.template.destination}`;
      if (result.outcome === 'failed' || result.content === undefined || result.path === undefined) {
        const error = result.error ?? new AgentError('ERR_TEMPLATE_RENDER', `${result.template.file}: rendered nothing`);
        problems.push(error);
        out.write(`${title}: cannot render: ${error.message}\n`);
        continue;
      }
      let current: string | undefined;
      try {
        // A set's file is read through `..data` (docs/templates.md "Sets"): its visible name is the agent's own link.
        current = await readCurrent(output, result.template.set === undefined ? result.path : join(resolve(output), '..data', relative(resolve(output), result.path)));
      } catch (error) {
        const failure = error instanceof AgentError ? error : new AgentError('ERR_DESTINATION', `${result.path}: ${(error as Error).message}`, { cause: error });
        problems.push(failure);
        out.write(`${title}: ${failure.message}\n`);
        continue;
      }
      const diff = diffContent(result.template.format, current, result.content);
      if (current !== result.content) changed++;
      out.write(`${title}: ${current === result.content ? 'no changes' : diff.note ?? `${diff.changes.length} ${diff.changes.length === 1 ? 'change' : 'changes'}`}\n`);
      for (const change of diff.changes) out.write(`  ${SIGN[change.kind]} ${change.name} (${change.kind})\n`);
    }
  } finally {
    // Why: a dry run that made database credentials would leave them alive for their whole lease.
    await store.revokeCallLeases().catch(() => 0);
    await store.close();
  }
  out.write(`${changed} of ${templates.length} files would change\n`);
  return problems;
}

/**
 * The file as it is now, or undefined when it (or the output directory) does not exist yet. Reads only: a
 * symlink or a non-regular file is refused as `once` would refuse it, and a path through a symlinked directory
 * that leaves the output directory is never read.
 */
async function readCurrent(output: string, path: string): Promise<string | undefined> {
  let root: string;
  try {
    root = await realpath(output);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  if (stats.isSymbolicLink() || !stats.isFile()) throw new AgentError('ERR_DESTINATION', `destination ${path} refused: it exists and is not a regular file (once would refuse to write it)`, { details: { path } });
  const rel = relative(root, resolve(await realpath(dirname(path)), 'x'));
  if (rel.startsWith(`..${sep}`) || rel === '..') throw new AgentError('ERR_DESTINATION', `destination ${path} refused: it resolves outside the output directory ${output}`, { details: { path } });
  return readFile(path, 'utf8');
}
