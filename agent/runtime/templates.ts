// The templates a running agent serves. A reload replaces each template that prepares cleanly; one that
// does not is rejected with a clear log line and its previous version keeps serving (docs/design.md "The output directory").
import type { AgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { loadTemplates } from '../template/load.js';
import type { Template } from '../template/load.js';

export class TemplateSet {
  #byName = new Map<string, Template>();

  /** The templates to render, in name order. */
  get all(): Template[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Load `dir` again; returns the errors of the templates that were rejected. */
  async reload(dir: string, log: Logger): Promise<AgentError[]> {
    const { templates, errors } = await loadTemplates(dir);
    const next = new Map(templates.map((template) => [template.name, template]));
    for (const error of errors) {
      const name = nameOf(error);
      const previous = name === undefined ? undefined : this.#byName.get(name);
      if (previous) {
        next.set(previous.name, previous);
        log.error({ code: error.code, ...error.details }, `${error.message} - template rejected; the previous version of ${previous.name} keeps serving`);
      } else {
        log.error({ code: error.code, ...error.details }, `${error.message} - template rejected`);
      }
    }
    this.#byName = next;
    return errors;
  }
}

function nameOf(error: AgentError): string | undefined {
  const file = error.details['template'];
  return typeof file === 'string' ? file.slice(file.lastIndexOf('/') + 1) : undefined;
}
