// What the agent knows about each template after each cycle: for /v1/status, /health/ready and the
// template metrics. It holds names, paths, backends and versions, never a value; error messages are
// scrubbed before they are stored.
import type { TemplateResult } from '../cycle.js';
import { requestsOf } from '../cycle.js';
import type { Scrubber } from '../log/scrub.js';
import type { AgentMetrics } from '../server/metrics.js';
import { requestKey } from '../store/store.js';
import type { Resolution } from '../store/store.js';
import type { Template } from '../template/load.js';

export interface DependencyStatus {
  path: string;
  kind: 'value' | 'map';
  backend?: string;
  version?: string;
  status: 'found' | 'not_found' | 'failed';
  /** A `version="previous"` read: `version` is then the older version's (docs/templates.md). */
  previous?: true;
  /** Why the last good value is served instead of a fresh one (the owning backend is unavailable). */
  stale?: string;
}

export interface TemplateStatus {
  template: string;
  destination: string;
  /** The set the template is written with (docs/templates.md "Sets"), when it names one. */
  set?: string;
  dependencies: DependencyStatus[];
  lastSuccess?: string;
  lastError?: { code: string; message: string; at: string };
  stale: boolean;
}

export class StatusBook {
  readonly #entries = new Map<string, TemplateStatus>();
  readonly #succeeded = new Set<string>();

  constructor(private readonly metrics: AgentMetrics, private readonly scrubber: Scrubber) {}

  /** Record one cycle's results; `now` is the cycle's end. */
  record(results: readonly TemplateResult[], resolutions: Map<string, Resolution>, now: number): void {
    const at = new Date(now).toISOString();
    for (const result of results) {
      const name = result.template.name;
      const previous = this.#entries.get(name);
      const entry: TemplateStatus = {
        template: name,
        destination: result.path ?? result.template.destination,
        ...(result.template.set === undefined ? {} : { set: result.template.set }),
        dependencies: dependenciesOf(result.template, resolutions),
        ...(previous?.lastSuccess === undefined ? {} : { lastSuccess: previous.lastSuccess }),
        ...(previous?.lastError === undefined ? {} : { lastError: previous.lastError }),
        stale: false,
      };
      entry.stale = entry.dependencies.some((dependency) => dependency.stale !== undefined);
      if (result.outcome === 'failed' && result.error) {
        entry.lastError = { code: result.error.code, message: this.scrubber.scrub(result.error.message), at };
        this.metrics.templateRenders.inc({ template: name, result: 'failed' });
      } else {
        entry.lastSuccess = at;
        delete entry.lastError;
        this.#succeeded.add(name);
        this.metrics.templateRenders.inc({ template: name, result: result.outcome === 'written' ? 'written' : 'unchanged' });
        this.metrics.templateLastSuccess.set({ template: name }, now / 1000);
      }
      this.#entries.set(name, entry);
    }
  }

  /** Forget templates that no longer exist. */
  retain(templates: readonly Template[]): void {
    const names = new Set(templates.map((template) => template.name));
    for (const name of this.#entries.keys()) if (!names.has(name)) this.#entries.delete(name);
  }

  /** Whether the template has rendered successfully at least once in this process. */
  succeeded(name: string): boolean {
    return this.#succeeded.has(name);
  }

  /** Ready once every current template has rendered successfully at least once. */
  ready(templates: readonly Template[]): boolean {
    return templates.length > 0 && templates.every((template) => this.#succeeded.has(template.name));
  }

  document(): { templates: TemplateStatus[] } {
    return { templates: [...this.#entries.values()] };
  }
}

function dependenciesOf(template: Template, resolutions: Map<string, Resolution>): DependencyStatus[] {
  return requestsOf(template).map((request) => {
    const resolution = resolutions.get(requestKey(request));
    const base = { path: request.ref.path, kind: request.ref.kind, ...(request.ref.version === 'previous' ? { previous: true as const } : {}) };
    if (resolution?.status === 'found') {
      return { ...base, backend: resolution.backend, ...(resolution.version === undefined ? {} : { version: resolution.version }), ...(resolution.stale ? { stale: resolution.stale.reason } : {}), status: 'found' as const };
    }
    return { ...base, status: resolution?.status === 'not_found' ? ('not_found' as const) : ('failed' as const) };
  });
}
