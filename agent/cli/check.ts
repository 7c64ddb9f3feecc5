// `secrets-agent check [--diff]`: validate the configuration and every template, and list each template's
// dependencies, without fetching or writing anything (docs/commands.md). The listing is the command's result,
// so it goes to stdout; exit 1 when any template has a problem. `--diff` then fetches and renders in memory
// and shows, per file, which keys or lines would change (agent/cli/diff.ts); it still writes nothing.
import type { AgentError } from '../errors.js';
import type { Dependency } from '../template/ast.js';
import type { Template } from '../template/load.js';
import type { CommandContext } from '../runtime/context.js';
import { loadConfiguredTemplates } from '../runtime/context.js';
import { diffTemplates } from './diff.js';
import { plural } from './plural.js';
import { crossTemplateProblems } from '../runtime/problems.js';

/** Returns the exit code. */
export async function checkCommand(context: CommandContext, options: { diff?: boolean } = {}): Promise<number> {
  const loaded = await loadConfiguredTemplates(context);
  const problems = crossTemplateProblems(loaded.templates, context.config);
  const out = context.io.stdout;
  const unique = new Set<string>();
  let count = 0;
  for (const template of loaded.templates) {
    out.write(`${describeTemplate(template)}\n`);
    for (const dep of template.dependencies) {
      count++;
      if (dep.helper !== 'env') unique.add(`${dep.helper === 'secret' ? 'value' : 'map'}:${dep.path}`);
      out.write(`  ${describeDependency(dep)}\n`);
    }
    if (template.dependencies.length === 0) out.write('  (no dependencies)\n');
    const problem = problems.get(template.name);
    if (problem) out.write(`  problem: ${problem.message}\n`);
  }
  for (const [set, members] of setsOf(loaded.templates)) out.write(`set ${set}: ${members.join(', ')} (written together, one generation behind ${context.config.output}/..data)\n`);
  const errors: AgentError[] = [...loaded.errors, ...problems.values()];
  for (const error of loaded.errors) out.write(`problem: ${error.message}\n`);
  const total = loaded.templates.length + loaded.errors.length;
  out.write(`${plural(total, 'template')}, ${plural(count, 'dependency', 'dependencies')} (${plural(unique.size, 'unique secret path')}), ${plural(errors.length, 'problem')}\n`);
  if (options.diff === true) errors.push(...await diffTemplates(context, loaded.templates.filter((template) => !problems.has(template.name))));
  return errors.length > 0 ? 1 : 0;
}

function describeTemplate(template: Template): string {
  const mode = template.mode.toString(8).padStart(4, '0');
  const pinned = template.backend === undefined ? '' : `, backend ${template.backend}`;
  const notify = template.notify.length === 0 ? '' : `, notify ${template.notify.join(',')}`;
  const set = template.set === undefined ? '' : `, set ${template.set}`;
  return `${template.name} -> ${template.destination} (${template.format}, mode ${mode}${pinned}${notify}${set})`;
}

/** Set name → its templates, in the order they were listed. */
function setsOf(templates: readonly Template[]): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  for (const template of templates) if (template.set !== undefined) sets.set(template.set, [...(sets.get(template.set) ?? []), template.name]);
  return sets;
}

function describeDependency(dep: Dependency): string {
  const flags = [dep.backend === undefined ? '' : `backend=${dep.backend}`, dep.version === undefined ? '' : `version=${dep.version}`, dep.hasDefault ? 'default' : ''].filter(Boolean);
  return `${dep.helper.padEnd(8)} ${dep.path}${flags.length > 0 ? ` [${flags.join(', ')}]` : ''}  (line ${dep.line})`;
}
