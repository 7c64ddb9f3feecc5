// Render one template and prove the output is what the template wrote before anyone may write it:
// JSON and YAML must parse; KEY=value formats are rendered a second time with placeholders in place of
// the values, and both outputs must parse to the same keys with each value read back exactly (docs/templates.md).
import { randomBytes } from 'node:crypto';
import { parseDocument } from 'yaml';
import type { BackendName, SecretRef } from '../backends/backend.js';
import { AgentError, isAgentError } from '../errors.js';
import { parseAssignments } from './assignments.js';
import { encodeValue } from './encoders.js';
import { withScope } from './engine.js';
import type { Lookup, RenderScope } from './engine.js';
import { isAssignmentFormat } from './formats.js';
import type { AssignmentFormat } from './formats.js';
import type { Template } from './load.js';
import { runtimeOptions } from './engine.js';

export interface RenderInput {
  lookup(ref: SecretRef, backend: BackendName | undefined): Lookup;
  env: Readonly<Record<string, string | undefined>>;
}

/** Render `template` to its final text, or throw an AgentError naming file and line; never a value. */
export function renderTemplate(template: Template, input: RenderInput): string {
  const base = { file: template.file, lineOffset: template.lineOffset, format: template.format, backend: template.backend, env: input.env, lookup: (ref: SecretRef, backend: BackendName | undefined) => input.lookup(ref, backend) };
  const output = run(template, { ...base, emit: (value, at) => encodeAt(template, value, at), emitRaw: (value) => value });
  if (isAssignmentFormat(template.format)) checkAssignments(template, template.format, output, base);
  else if (template.format === 'json') checkJson(template, output);
  else if (template.format === 'yaml') checkYaml(template, output);
  return output;
}

function run(template: Template, scope: RenderScope): string {
  try {
    return withScope(scope, () => template.run({}, runtimeOptions));
  } catch (error) {
    throw asRenderError(template, error);
  }
}

function encodeAt(template: Template, value: string, at: { line: number; label: string }): string {
  try {
    return encodeValue(template.format, value);
  } catch (error) {
    throw new AgentError('ERR_ENCODE_REFUSED', `${template.file}:${at.line}: ${at.label}: cannot be written as ${template.format}: ${(error as Error).message}`, { cause: error, details: { template: template.file, line: at.line } });
  }
}

/** Second render with placeholders: its parse is the template's structure, the first render must match it. */
function checkAssignments(template: Template, format: AssignmentFormat, output: string, base: Omit<RenderScope, 'emit' | 'emitRaw'>): void {
  const nonce = randomBytes(6).toString('hex');
  const values: string[] = [];
  // A placeholder is a valid key and a safe bare value, so it stands in for a value or a raw key alike.
  const token = (value: string): string => `SAPH${nonce}X${values.push(value) - 1}X`;
  const shape = run(template, { ...base, emit: (value) => encodeValue(format, token(value)), emitRaw: token });
  const written = parseOutput(template, () => parseAssignments(format, output));
  const expected = parseOutput(template, () => parseAssignments(format, shape));
  const placeholder = new RegExp(`SAPH${nonce}X(\\d+)X`, 'g');
  if (written.length !== expected.length) {
    throw invalid(template, `the output has ${written.length} assignments where the template wrote ${expected.length}: a value changed the file's structure; write values as {{...}} (escaped)`);
  }
  const substitute = (text: string): string => text.replace(placeholder, (_match: string, index: string) => values[Number(index)] ?? '');
  written.forEach((got, i) => {
    const want = expected[i];
    if (want === undefined || got.key !== substitute(want.key)) throw invalid(template, `output line ${got.line}: the key is not the one the template wrote there`);
    if (got.value !== substitute(want.value)) throw invalid(template, `output line ${got.line}: ${got.key} does not read back as the value written; write values as {{...}} (escaped), or use another format`);
  });
}

function parseOutput<T>(template: Template, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw invalid(template, `the output is not valid ${template.format}: ${(error as Error).message}`);
  }
}

function checkJson(template: Template, output: string): void {
  try {
    JSON.parse(output);
  } catch (error) {
    // V8 quotes a snippet of the input in its message, which may hold a secret: keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = position === undefined ? undefined : output.slice(0, Number(position)).split('\n').length;
    throw invalid(template, `the output is not valid JSON${line === undefined ? '' : ` (output line ${line})`}; write values as {{...}} so they are JSON-encoded`);
  }
}

function checkYaml(template: Template, output: string): void {
  const doc = parseDocument(output, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) throw invalid(template, `the output is not valid YAML (${first.code}${first.linePos ? ` at output line ${first.linePos[0].line}` : ''}); write values as {{...}} so they are YAML-encoded`);
}

function invalid(template: Template, message: string): AgentError {
  return new AgentError('ERR_OUTPUT_INVALID', `${template.file}: ${message}`, { details: { template: template.file } });
}

/** Handlebars' own runtime errors say `"x" not defined in <the object>`: drop the object, keep the line. */
function asRenderError(template: Template, error: unknown): AgentError {
  if (isAgentError(error)) return error;
  const raw = error as Error & { lineNumber?: number };
  const line = raw.lineNumber === undefined ? undefined : raw.lineNumber + template.lineOffset;
  const missing = /^"([^"]+)" not defined in/.exec(raw.message)?.[1];
  // Handlebars' other runtime messages are fixed texts ("#with requires exactly one argument"); keep them.
  const reason = missing === undefined ? raw.message.split('\n')[0]?.replace(/ - \d+:\d+$/, '') ?? 'render failed' : `"${missing}" is not defined`;
  return new AgentError('ERR_TEMPLATE_RENDER', `${template.file}${line === undefined ? '' : `:${line}`}: ${reason}`, { cause: error, details: { template: template.file, line } });
}
