// Checks that span templates rather than one template: two templates writing one file, notify names that no
// notifier defines, destinations that cannot live beside sets. Shared by `check` (reported) and `once` (those
// templates are not written).
import type { Config } from '../config/schema.js';
import { AgentError } from '../errors.js';
import type { Template } from '../template/load.js';
import { resolveDestination } from '../write/destination.js';
import { setProblems } from '../write/set-problems.js';

/** Problems per template name; a template with a problem must not be written. */
export function crossTemplateProblems(templates: readonly Template[], config: Config): Map<string, AgentError> {
  const problems = new Map<string, AgentError>();
  const owners = new Map<string, Template>();
  for (const template of templates) {
    let path: string;
    try {
      path = resolveDestination(config.output, template.destination);
    } catch (error) {
      problems.set(template.name, new AgentError('ERR_DESTINATION', `${template.file}: ${(error as Error).message}`, { cause: error, details: { template: template.file } }));
      continue;
    }
    const first = owners.get(path);
    if (first) {
      const message = `${template.file}: destination ${path} is also written by ${first.file}; give each template its own destination`;
      problems.set(template.name, new AgentError('ERR_DESTINATION', message, { details: { template: template.file } }));
      continue;
    }
    owners.set(path, template);
    const unknown = template.notify.filter((name) => !Object.hasOwn(config.notifiers, name));
    if (unknown.length > 0) {
      const known = Object.keys(config.notifiers);
      const message = `${template.file}: notify names ${unknown.map((n) => `"${n}"`).join(', ')}, which no notifier defines - defined notifiers are [${known.join(', ')}]`;
      problems.set(template.name, new AgentError('ERR_TEMPLATE_FRONT_MATTER', message, { details: { template: template.file } }));
    }
  }
  // Destinations that cannot live beside sets (docs/templates.md "Sets"), for templates without a problem above.
  for (const [name, problem] of setProblems(templates.filter((template) => !problems.has(template.name)), config.output)) problems.set(name, problem);
  return problems;
}
