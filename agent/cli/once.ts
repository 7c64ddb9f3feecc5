// `secrets-agent once`: render every template once, write what changed, exit 0 when all were written
// (init containers, CI) and 1 when any failed; a failed template keeps its previous file (docs/commands.md).
// A backend that is down falls back through the chain exactly as `run` does (one render pass for both).
import type { AgentError } from '../errors.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore, loadConfiguredTemplates, prepareOutput } from '../runtime/context.js';
import { levelOf, memoryOf, renderPass } from '../runtime/pass.js';
import { plural } from './plural.js';

/** Returns the exit code. */
export async function onceCommand(context: CommandContext): Promise<number> {
  const log = context.log.child({ component: 'once' });
  const loaded = await loadConfiguredTemplates(context);
  await prepareOutput(context);
  const store = await createStore(context, { memory: await memoryOf(context.config.output) });
  let report;
  try {
    report = await renderPass({ context, store, templates: loaded.templates, write: true });
  } finally {
    await store.close();
  }
  const failures: AgentError[] = [...loaded.errors, ...report.problems.values()];
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
  for (const error of failures) log[levelOf(error)]({ code: error.code, ...error.details }, error.message);
  const total = loaded.templates.length + loaded.errors.length;
  const summary = { templates: total, written, unchanged, failed: failures.length };
  if (failures.length > 0) log.error(summary, `${failures.length} of ${total} templates failed; their previous files were left as they were`);
  else log.info(summary, `rendered ${plural(total, 'template')}: ${written} written, ${unchanged} unchanged`);
  return failures.length > 0 ? 1 : 0;
}
