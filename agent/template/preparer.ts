// Templates are parsed and compiled on a worker thread (docs/templates.md "Limits"): Handlebars' parser and
// compiler are synchronous and cost about a tenth of a millisecond per expression, so a large template prepared on
// the main thread would hold the event loop, and /health/live with it. The worker hands back the checked template
// and Handlebars' precompiled source; evaluating that source here is cheap.
import { Worker } from 'node:worker_threads';
import { AgentError, errorCodes } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { limitError } from './limits.js';
import type { Template, TemplateInfo } from './load.js';
import type { Plan } from './plan.js';

/** What the worker answers for one template; `{ ready: true }` first, once its modules are loaded. */
export type PrepareReply =
  | { readonly ready: true }
  | { readonly ok: true; readonly info: TemplateInfo; readonly plan: Plan<string> }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly details: Record<string, string | number | boolean | undefined> };

/** What the worker is asked. */
export interface PrepareRequest {
  readonly file: string;
  readonly name: string;
  readonly source: string;
}

/**
 * A template within the limits prepares in well under a second; this only catches a worker that went wrong. It is
 * generous because a starved machine (2 busy cores, measured: over 10 s) must not reject a valid template.
 */
export const PREPARE_TIMEOUT_MS = 120_000;

/** Templates this small prepare in a few milliseconds: here, without the cost of starting a worker. */
const LOCAL_MAX_CHARS = 64 * 1024;
const LOCAL_MAX_MUSTACHES = 100;

/** True when `source` is small enough to prepare on the calling thread. */
function small(source: string): boolean {
  // Why: most templates are a few dozen lines; the worker is for the ones that could hold the event loop.
  if (source.length > LOCAL_MAX_CHARS) return false;
  let mustaches = 0;
  for (let i = source.indexOf('{{'); i !== -1; i = source.indexOf('{{', i + 2)) {
    mustaches += 1;
    if (mustaches > LOCAL_MAX_MUSTACHES) return false;
  }
  return true;
}

const workerUrl = new URL('./prepare-worker.js', import.meta.url);

/**
 * Set when a worker could not start in this process (no worker support, a bundle without prepare-worker.js, or the
 * TypeScript sources run by a loader workers do not inherit): templates are then prepared on the calling thread.
 */
let workerUnavailable = false;

interface Pending {
  readonly request: PrepareRequest;
  resolve(template: Template): void;
  reject(error: unknown): void;
  readonly timer: NodeJS.Timeout;
}

/** One worker for a batch of templates, asked one at a time; `close()` ends it. */
export class Preparer {
  #worker: Worker | undefined;
  #pending: Pending | undefined;
  /** The worker loaded its modules: a failure from now on is the template's doing. */
  #ready = false;

  constructor(
    private readonly fallback: {
      local(file: string, name: string, source: string): Template;
      fromSpec(info: TemplateInfo, plan: Plan<string>): Template;
    },
  ) {}

  /** The prepared template, or the AgentError that names what is wrong with it. */
  prepare(file: string, name: string, source: string): Promise<Template> {
    if (workerUnavailable || small(source)) return Promise.resolve().then(() => this.fallback.local(file, name, source));
    const worker = this.#start();
    return new Promise<Template>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle((pending) => {
          pending.reject(limitError(file, undefined, `preparing the template took longer than ${PREPARE_TIMEOUT_MS / 1000} s; it was stopped`));
        });
        this.#stop();
      }, PREPARE_TIMEOUT_MS);
      const request: PrepareRequest = { file, name, source };
      this.#pending = { request, resolve, reject, timer };
      worker.postMessage(request);
    });
  }

  /** Ends the worker; templates already prepared stay usable. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // A template gets a bounded heap: a hostile one runs the worker out of memory, not the agent.
    const worker = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: 256 } });
    worker.on('message', (reply: PrepareReply) => {
      if ('ready' in reply) {
        this.#ready = true;
        return;
      }
      this.#settle((pending) => {
        if (reply.ok) {
          try {
            pending.resolve(this.fallback.fromSpec(reply.info, reply.plan));
          } catch (error) {
            pending.reject(error);
          }
        } else {
          const code = (Object.hasOwn(errorCodes, reply.code) ? reply.code : 'ERR_TEMPLATE_PARSE') as ErrorCode;
          pending.reject(new AgentError(code, reply.message, { details: reply.details }));
        }
      });
    });
    worker.on('error', (error: Error) => {
      this.#worker = undefined;
      if (!this.#ready) {
        // It never loaded: it cannot start here. Prepare on this thread rather than not at all.
        workerUnavailable = true;
        this.#settle((pending) => {
          const { file, name, source } = pending.request;
          try {
            pending.resolve(this.fallback.local(file, name, source));
          } catch (localError) {
            pending.reject(localError);
          }
        });
        return;
      }
      this.#settle((pending) => {
        pending.reject(limitError(pending.request.file, undefined, `preparing the template stopped its worker thread (${(error as NodeJS.ErrnoException).code ?? error.name}); it is too large or too complex`));
      });
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }

  #settle(fn: (pending: Pending) => void): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    clearTimeout(pending.timer);
    fn(pending);
  }

  #stop(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
  }
}
