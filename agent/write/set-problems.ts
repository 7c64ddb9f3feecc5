// Destinations that cannot live beside sets (docs/templates.md "Sets"): checked before rendering, with the
// cross-template checks (agent/runtime/problems.ts), by `check`, `once` and `run` alike.
import { relative, resolve, sep } from 'node:path';
import { AgentError } from '../errors.js';
import type { Template } from '../template/load.js';
import { resolveDestination } from './destination.js';
import { DATA_LINK, topOf } from './set-layout.js';

/**
 * Why: a set's top-level names are links into `..data`, so no other template can write under them, and within one
 * generation a path cannot be both a file and a directory. Problems per template name, like crossTemplateProblems;
 * templates whose destination does not resolve are left to that check.
 */
export function setProblems(templates: readonly Template[], output: string): Map<string, AgentError> {
  const problems = new Map<string, AgentError>();
  const rels = new Map<Template, string>();
  for (const template of templates) {
    try {
      rels.set(template, relativeOf(output, resolveDestination(output, template.destination)));
    } catch {
      // reported by crossTemplateProblems
    }
  }
  const setTops = new Map<string, Template>();
  const setFiles = new Map<string, Template>();
  for (const [template, rel] of rels) {
    if (template.set === undefined) continue;
    if (!setTops.has(topOf(rel))) setTops.set(topOf(rel), template);
    setFiles.set(rel, template);
  }
  for (const [template, rel] of rels) {
    const refuse = (message: string): void => {
      problems.set(template.name, new AgentError('ERR_DESTINATION', `${template.file}: ${message}`, { details: { template: template.file } }));
    };
    if (template.set === undefined) {
      const owner = setTops.get(topOf(rel));
      if (owner !== undefined) refuse(`destination ${template.destination} is under "${topOf(rel)}", which is a link into ${DATA_LINK} for set "${owner.set ?? ''}" (${owner.file}); choose a destination outside it, or put this template in a set`);
      continue;
    }
    const parts = rel.split(sep);
    for (let i = 1; i < parts.length; i++) {
      const file = setFiles.get(parts.slice(0, i).join(sep));
      if (file !== undefined) refuse(`destination ${template.destination} needs ${parts.slice(0, i).join(sep)} to be a directory, but ${file.file} writes a file there`);
    }
  }
  return problems;
}

export function relativeOf(output: string, absPath: string): string {
  return relative(resolve(output), absPath);
}
