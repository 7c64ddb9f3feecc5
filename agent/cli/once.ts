// `secrets-agent once`: render every template once, write what changed, exit 0 when all were written
// (init containers, CI) and 1 when any failed; a failed template keeps its previous file (DESIGN §2).
import { runCycle } from '../cycle.js';
import { auditRecords, writeAudit } from '../log/audit.js';
import { pathSegments, resolvedValues } from '../store/values.js';
import type { AgentError } from '../errors.js';
import type { CommandContext } from './context.js';
import { createStore, loadConfiguredTemplates, prepareOutput, startBackends } from './context.js';
import { crossTemplateProblems } from './problems.js';

/** Returns the exit code. */
export async function onceCommand(context: CommandContext): Promise<number> {
  const log = context.log.child({ component: 'once' });
  const loaded = await loadConfiguredTemplates(context);
  const problems = crossTemplateProblems(loaded.templates, context.config);
  const failures: AgentError[] = [...loaded.errors, ...problems.values()];
  await prepareOutput(context);
  const store = await createStore(context);
  await startBackends(store);
  const templates = loaded.templates.filter((template) => !problems.has(template.name));
  const report = await runCycle({
    templates,
    store,
    output: context.config.output,
    env: context.io.env,
    write: true,
    onResolved: (resolutions) => {
      context.scrubber.rotate(resolvedValues(resolutions.values()), pathSegments(resolutions.keys()));
    },
  });
  if (context.config.log.audit) writeAudit(context.log, auditRecords(templates, report.resolutions));
  let written = 0;
  let unchanged = 0;
  for (const result of report.results) {
    const fields = { template: result.template.name, destination: result.path };
    if (result.outcome === 'failed' && result.error) {
      failures.push(result.error);
    } else if (result.outcome === 'written') {
      written++;
      log.info(fields, `wrote ${result.path ?? result.template.destination}`);
    } else {
      unchanged++;
      log.debug(fields, `unchanged ${result.path ?? result.template.destination}`);
    }
  }
  for (const error of failures) log.error({ code: error.code, ...error.details }, error.message);
  const total = loaded.templates.length + loaded.errors.length;
  const summary = { templates: total, written, unchanged, failed: failures.length };
  if (failures.length > 0) log.error(summary, `${failures.length} of ${total} templates failed; their previous files were left as they were`);
  else log.info(summary, `rendered ${total} templates: ${written} written, ${unchanged} unchanged`);
  for (const backend of store.backends) await backend.close?.();
  return failures.length > 0 ? 1 : 0;
}
