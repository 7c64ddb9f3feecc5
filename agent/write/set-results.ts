// Between a cycle's renders and the set writer (agent/cycle.ts → agent/write/set.ts): the rendered members of each
// set go in, each member's outcome comes back — `written` when its set got a new generation with a change of that
// set, `unchanged`, or `failed` (its own error, or why its set was held: ERR_SET_INCOMPLETE names the culprits).
import { relative, resolve } from 'node:path';
import type { TemplateResult } from '../cycle.js';
import { AgentError } from '../errors.js';
import type { Template } from '../template/load.js';
import { writeSets } from './set.js';
import type { SetInput, SetMemberInput } from './set.js';

export interface SetWriteOptions {
  readonly output: string;
  /** Set members refused before rendering (agent/runtime/problems.ts): their sets are held. */
  readonly refused?: readonly Template[] | undefined;
  /** Does a template exist in the templates directory (see WriteSetsOptions.templateExists)? */
  readonly templateExists?: ((template: string) => Promise<boolean>) | undefined;
  /** Every template of the pass, in a set or not: one of them that left its set did not fail to load. */
  readonly loaded?: ReadonlySet<string> | undefined;
  /** See WriteSetsOptions.partial. */
  readonly partial?: boolean | undefined;
}

/** Commit the sets of `rendered` (results of set members, outcome `rendered` or `failed`); returns their final results. */
export async function writeSetResults(options: SetWriteOptions, rendered: readonly TemplateResult[]): Promise<TemplateResult[]> {
  const root = resolve(options.output);
  const bySet = new Map<string, SetMemberInput[]>();
  const add = (set: string, member: SetMemberInput): void => {
    const members = bySet.get(set) ?? [];
    members.push(member);
    bySet.set(set, members);
  };
  for (const result of rendered) {
    const { template } = result;
    if (template.set === undefined) continue;
    const rel = relative(root, result.path ?? resolve(root, template.destination));
    const file = result.outcome === 'rendered' && result.content !== undefined
      ? { content: Buffer.from(result.content, 'utf8'), mode: template.mode, uid: template.uid, gid: template.gid }
      : undefined;
    add(template.set, { template: template.name, rel, file });
  }
  for (const template of options.refused ?? []) {
    if (template.set !== undefined) add(template.set, { template: template.name, rel: relative(root, resolve(root, template.destination)) });
  }
  const sets: SetInput[] = [...bySet].map(([name, members]) => ({ name, members }));
  let report: Awaited<ReturnType<typeof writeSets>>;
  try {
    const { templateExists, loaded } = options;
    // "Exists but is not among the loaded templates": only that means a member failed to load and holds its set.
    const unloaded = templateExists === undefined ? undefined : async (name: string): Promise<boolean> => loaded?.has(name) !== true && (await templateExists(name));
    report = await writeSets({ output: options.output, sets, ...(unloaded === undefined ? {} : { templateExists: unloaded }), partial: options.partial === true });
  } catch (error) {
    // The output directory refused (ERR_OUTPUT_DIR) before anything was written: every member says so.
    const failure = error instanceof AgentError ? error : new AgentError('ERR_WRITE', `sets in ${root}: ${(error as Error).message}`, { cause: error });
    return rendered.map((result) => ({ template: result.template, outcome: 'failed' as const, error: result.error ?? failure, ...(result.path === undefined ? {} : { path: result.path }) }));
  }
  return rendered.map((result): TemplateResult => {
    const { template } = result;
    const base = { template, ...(result.path === undefined ? {} : { path: result.path }) };
    if (result.outcome === 'failed' || template.set === undefined) return { ...base, outcome: 'failed', ...(result.error === undefined ? {} : { error: result.error }) };
    const outcome = report.sets.get(template.set);
    if (outcome === undefined || outcome.outcome === 'failed') return { ...base, outcome: 'failed', ...(outcome === undefined ? {} : { error: outcome.error }) };
    return { ...base, outcome: outcome.outcome };
  });
}
