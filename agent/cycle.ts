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
import { assertSafeTarget, resolveDestination } from './write/destination.js';
import { writeOutputFile } from './write/output.js';

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
      ref: { kind: dep.helper === 'secret' ? 'value' : 'map', path: dep.path },
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
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < options.templates.length; index = next++) {
      const template = options.templates[index];
      if (template !== undefined) results[index] = await renderOne(template, options, lookup);
    }
  };
  await Promise.all(Array.from({ length: Math.min(RENDER_WORKERS, options.templates.length) }, worker));
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
    const target = await assertSafeTarget(options.output, path);
    const { changed } = await writeOutputFile(options.output, { path: target, content, mode: template.mode, ...owner(template) });
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
