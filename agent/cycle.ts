// One render cycle: every dependency of every template fetched once, each template rendered and
// validated, each changed file written atomically. A failing template never touches its file and never
// stops the others (docs/templates.md).
import type { BackendName, SecretRef } from './backends/backend.js';
import { AgentError } from './errors.js';
import { requestKey } from './store/store.js';
import type { Resolution, SecretRequest, SecretStore } from './store/store.js';
import type { Lookup } from './template/engine.js';
import type { Template } from './template/load.js';
import { renderTemplate } from './template/render.js';
import { prepareTarget, resolveDestination } from './write/destination.js';
import { writeOutputFile } from './write/output.js';
import { writeSetResults } from './write/set-results.js';

export type TemplateOutcome = 'written' | 'unchanged' | 'rendered' | 'failed';

export interface TemplateResult {
  readonly template: Template;
  readonly outcome: TemplateOutcome;
  /** Absolute path of the destination, when it could be resolved. */
  readonly path?: string;
  readonly error?: AgentError;
  /** The rendered text, kept only when the cycle does not write (dry runs). */
  readonly content?: string;
}

export interface CycleOptions {
  readonly templates: readonly Template[];
  readonly store: SecretStore;
  readonly output: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** false: render and validate only (check --diff, tests). */
  readonly write: boolean;
  /**
   * Awaited after fetching and before rendering: the scrubber must know every value before anything can log it,
   * and the provenance of what was fetched must be on disk before a file holds it.
   */
  readonly onResolved?: (resolutions: Map<string, Resolution>) => void | Promise<void>;
  /** Members of sets refused before rendering (agent/runtime/problems.ts): their sets are not written. */
  readonly refusedSetMembers?: readonly Template[];
  /** Does a template still exist in the templates directory (one that failed to load holds its set)? */
  readonly templateExists?: (template: string) => Promise<boolean>;
  /** Only some templates (agent/runtime/pass.ts): sets and members not among them keep their files. */
  readonly partial?: boolean;
}

export interface CycleReport {
  readonly results: TemplateResult[];
  readonly resolutions: Map<string, Resolution>;
}

/** The store requests behind a template's dependencies; `env` helpers read the process and need none. */
export function requestsOf(template: Template): SecretRequest[] {
  return template.dependencies
    .filter((dep) => dep.helper !== 'env')
    .map((dep) => ({
      ref: { kind: dep.helper === 'secret' ? 'value' : 'map', path: dep.path, ...(dep.version === undefined ? {} : { version: dep.version }) },
      backend: dep.backend ?? template.backend,
    }));
}

/** Templates in flight at once: enough to keep the thread pool (4 threads by default) busy with writes. */
const RENDER_WORKERS = 16;

/** Fetch, render, validate and (optionally) write every template once. */
export async function runCycle(options: CycleOptions): Promise<CycleReport> {
  const resolutions = await options.store.resolveAll(options.templates.flatMap(requestsOf));
  await options.onResolved?.(resolutions);
  const lookup = (ref: SecretRef, backend: BackendName | undefined): Lookup =>
    resolutions.get(requestKey({ ref, backend })) ?? {
      status: 'failed',
      error: new AgentError('ERR_TEMPLATE_RENDER', `"${ref.path}" was not among the template's known dependencies`),
    };
  // Rendering is synchronous; each write waits on the thread pool (open, write, fsync, rename, directory fsync).
  // A few workers overlap one template's writes with the next one's render; results keep the templates' order.
  // Two templates never share a destination (crossTemplateProblems runs first), so the order of writes is free.
  const results = new Array<TemplateResult>(options.templates.length);
  const each = async (indexes: readonly number[], render: (template: Template) => Promise<TemplateResult>): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let at = next++; at < indexes.length; at = next++) {
        const index = indexes[at];
        const template = index === undefined ? undefined : options.templates[index];
        if (index !== undefined && template !== undefined) results[index] = await render(template);
      }
    };
    await Promise.all(Array.from({ length: Math.min(RENDER_WORKERS, indexes.length) }, worker));
  };
  const indexes = options.templates.map((_, index) => index);
  const inSet = indexes.filter((index) => options.templates[index]?.set !== undefined);
  // Sets first (docs/templates.md "Sets"): rendered in memory, then written as one generation; before the other files,
  // so a template that left its set finds the set's link already gone.
  await each(inSet, (template) => renderOne(template, { ...options, write: false }, lookup));
  if (options.write) {
    const written = await writeSetResults({ output: options.output, refused: options.refusedSetMembers, templateExists: options.templateExists, loaded: new Set([...options.templates, ...(options.refusedSetMembers ?? [])].map((template) => template.name)), partial: options.partial }, inSet.map((index) => results[index]).filter((result) => result !== undefined));
    for (const [at, index] of inSet.entries()) if (written[at] !== undefined) results[index] = written[at];
  }
  await each(indexes.filter((index) => options.templates[index]?.set === undefined), (template) => renderOne(template, options, lookup));
  return { results, resolutions };
}

async function renderOne(template: Template, options: CycleOptions, lookup: (ref: SecretRef, backend: BackendName | undefined) => Lookup): Promise<TemplateResult> {
  let path: string | undefined;
  try {
    path = resolveDestination(options.output, template.destination);
    // Why yield first: workers render back to back in one synchronous stretch otherwise, so the event loop (and
    // /health/live) would wait for up to 16 renders instead of one (docs/templates.md "Limits").
    await new Promise((resolve) => setImmediate(resolve));
    const content = renderTemplate(template, { lookup, env: options.env });
    if (!options.write) return { template, outcome: 'rendered', path, content };
    const target = await prepareTarget(options.output, path);
    const { changed } = await writeOutputFile(options.output, { path: target.path, content, mode: template.mode, ...owner(template) }, target);
    return { template, outcome: changed ? 'written' : 'unchanged', path };
  } catch (error) {
    const failure = error instanceof AgentError ? error : new AgentError('ERR_WRITE', `${template.file}: ${(error as Error).message}`, { cause: error });
    return { template, outcome: 'failed', error: failure, ...(path === undefined ? {} : { path }) };
  }
}

function owner(template: Template): { uid?: number; gid?: number } {
  return {
    ...(template.uid === undefined ? {} : { uid: template.uid }),
    ...(template.gid === undefined ? {} : { gid: template.gid }),
  };
}
