// One render pass, the same code for `run`, `once` and `check --diff` (docs/design.md "The pipeline"): the
// cross-template checks, one fetch of every dependency through the store, the scrubber told every value before
// anything can log it, render and validate, write (unless dry), the audit records, and the provenance kept.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { pathOfKey } from '../backends/backend.js';
import { runCycle } from '../cycle.js';
import type { CycleReport } from '../cycle.js';
import { isAgentError } from '../errors.js';
import type { AgentError } from '../errors.js';
import { auditRecords, writeAudit } from '../log/audit.js';
import type { Logger } from '../log/logger.js';
import { Provenance } from '../store/provenance.js';
import { StoreMemory } from '../store/memory.js';
import type { SecretStore } from '../store/store.js';
import { pathSegments, resolvedValues } from '../store/values.js';
import type { Template } from '../template/load.js';
import { checkOutputDirectory } from '../write/output.js';
import type { CommandContext } from './context.js';
import { crossTemplateProblems } from './problems.js';
import { staleLines } from './stale-log.js';
import type { StaleRead } from './stale-log.js';

export interface PassOptions {
  readonly context: CommandContext;
  readonly store: SecretStore;
  readonly templates: readonly Template[];
  /** false: render and validate in memory only (check --diff); nothing is written, provenance included. */
  readonly write: boolean;
  /** Only some templates (a `vault` helper call was replaced): the scrubber keeps every value it holds and adds these. */
  readonly partial?: boolean;
}

export interface PassReport extends CycleReport {
  /** Templates refused before rendering (two templates for one file, unknown notifier), by template name. */
  readonly problems: ReadonlyMap<string, AgentError>;
  /** The templates that were rendered (those without problems), in order. */
  readonly templates: readonly Template[];
}

/** Run one pass over `templates`; never throws for a template's failure (it is in the report). */
export async function renderPass(options: PassOptions): Promise<PassReport> {
  const { context, store, write } = options;
  const { config } = context;
  const log = context.log.child({ component: 'store' });
  const problems = crossTemplateProblems(options.templates, config);
  const templates = options.templates.filter((template) => !problems.has(template.name));
  // Why: a `once` run beside this process may have recorded owners since (docs/operations.md "The chain and
  // provenance"); resolving without them could let a lower backend serve a path `once` had from a higher one.
  if (write) await refreshProvenance(store, config.output);
  const report = await runCycle({
    templates,
    store,
    output: config.output,
    env: context.io.env,
    write,
    // A set with a refused member, or a member that no longer loads, is held as a whole (docs/templates.md "Sets").
    refusedSetMembers: options.templates.filter((template) => template.set !== undefined && problems.has(template.name)),
    templateExists: async (name) => access(join(config.templates, name)).then(() => true, () => false),
    ...(options.partial === true ? { partial: true } : {}),
    onResolved: async (resolutions) => {
      if (options.partial === true) context.scrubber.add(resolvedValues(resolutions.values()));
      else context.scrubber.rotate(resolvedValues(resolutions.values()), pathSegments(resolutions.keys()));
      const stale: StaleRead[] = [];
      for (const [key, resolution] of resolutions) {
        if (resolution.status !== 'found' || !resolution.stale) continue;
        const path = pathOfKey(key);
        log.debug({ path, backend: resolution.backend, version: resolution.version }, `serving the last good value of "${path}" from ${resolution.backend} (stale)`);
        stale.push({ path, backend: resolution.backend, version: resolution.version, reason: resolution.stale.reason });
      }
      for (const line of staleLines(stale)) log.warn(line.fields, line.msg);
      // Why before the writes: a crash between a file holding a Vault value and the provenance saying so would let
      // a restart during an outage serve a lower backend's value.
      if (write) await keepProvenance(store, config.output, log);
    },
  });
  if (write && config.log.audit) writeAudit(context.log, auditRecords(templates, report.resolutions));
  return { ...report, problems, templates };
}

async function refreshProvenance(store: SecretStore, output: string): Promise<void> {
  // A replaced output directory is reported by every write of the pass; an unreadable file changes nothing.
  await checkOutputDirectory(output).then((base) => store.memory.provenance.refresh(base), () => undefined);
}

async function keepProvenance(store: SecretStore, output: string, log: Logger): Promise<void> {
  if (!store.memory.provenance.changed) return;
  try {
    // Through the directory pinned at start: a swapped or symlinked output directory never receives it.
    await store.memory.provenance.save(await checkOutputDirectory(output));
  } catch (error) {
    // A replaced output directory is reported by every write of this pass; one more line would say nothing new.
    if (isAgentError(error, 'ERR_OUTPUT_DIR')) return;
    // Files are still written (serving beats not serving); what is at risk is the restart guarantee, so say so.
    log.error({ code: (error as { code?: string }).code, output }, `cannot keep provenance in ${output}: ${(error as Error).message}; a restart may not know which backend served each path`);
  }
}

/** The memory of an output directory as a new process finds it: no last good values, the provenance kept there. */
export async function memoryOf(output: string): Promise<StoreMemory> {
  return new StoreMemory(await Provenance.load(output));
}

/** The log level of a template failure: a provenance conflict or an ended lease is the file deliberately kept, so a warning. */
export function levelOf(error: AgentError): 'warn' | 'error' {
  return error.code === 'ERR_PROVENANCE_CONFLICT' || error.code === 'ERR_LEASE_EXPIRED' ? 'warn' : 'error';
}
