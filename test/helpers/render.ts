// Render a template source against a table of secrets, through the real engine and validator.
import type { BackendName, SecretData, SecretRef } from '../../agent/backends/backend.js';
import type { Lookup } from '../../agent/template/engine.js';
import { prepareTemplate } from '../../agent/template/load.js';
import type { Template } from '../../agent/template/load.js';
import { renderTemplate } from '../../agent/template/render.js';

export type SecretTable = Record<string, SecretData>;

/** A lookup over `table` keyed by path; a missing path is not found in the "file" backend. */
export function tableLookup(table: SecretTable): (ref: SecretRef, backend: BackendName | undefined) => Lookup {
  return (ref) => {
    const data = table[ref.path];
    return data === undefined ? { status: 'not_found', tried: ['file'] } : { status: 'found', data };
  };
}

export function prepare(source: string, name = 'app.env.hbs'): Template {
  return prepareTemplate(`templates/${name}`, name, source);
}

export function render(source: string, table: SecretTable, options: { name?: string; env?: Record<string, string> } = {}): string {
  return renderTemplate(prepare(source, options.name), { lookup: tableLookup(table), env: options.env ?? {} });
}
