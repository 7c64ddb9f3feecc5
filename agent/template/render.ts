// Render one template and prove the output is what the template wrote before anyone may write it: the template
// is rendered a second time with a unique placeholder in place of every value (its "shape"), both outputs are
// parsed by the format's rules, and they must have the same structure, with each value read back exactly where
// its placeholder stood (docs/templates.md "Validate before write").
import { randomBytes } from 'node:crypto';
import type { BackendName, SecretRef } from '../backends/backend.js';
import { AgentError, isAgentError } from '../errors.js';
import { parseAssignments } from './assignments.js';
import type { Assignment } from './assignments.js';
import { encodeValue } from './encoders.js';
import { hasLoneSurrogate } from './encoders/refusal.js';
import { runtimeOptions, withScope } from './engine.js';
import type { Lookup, RenderScope, Where } from './engine.js';
import { isAssignmentFormat } from './formats.js';
import type { AssignmentFormat, Format } from './formats.js';
import { describeBytes, limitError, maxOutputBytes } from './limits.js';
import type { Template } from './load.js';
import { invalid, lineAt, Placeholders, quoted } from './placeholders.js';
import { checkStructured } from './structure.js';

export interface RenderInput {
  lookup(ref: SecretRef, backend: BackendName | undefined): Lookup;
  env: Readonly<Record<string, string | undefined>>;
}

type Base = Omit<RenderScope, 'emit' | 'emitRaw' | 'emitExplicit'>;

/** Render `template` to its final text, or throw an AgentError naming file and line; never a value. */
export function renderTemplate(template: Template, input: RenderInput): string {
  const base: Base = { file: template.file, lineOffset: template.lineOffset, format: template.format, backend: template.backend, env: input.env, lookup: (ref, backend) => input.lookup(ref, backend) };
  const output = run(template, {
    ...base,
    emit: (value, at) => encodeAt(template, template.format, value, at),
    emitRaw: (value, at) => rawAt(template, value, at),
    emitExplicit: (format, value, at) => encodeAt(template, format, value, at),
  });
  const bytes = Buffer.byteLength(output, 'utf8');
  const max = maxOutputBytes(template.format);
  if (bytes > max) {
    const instead = template.format === 'raw' ? 'split the template' : `deliver large values as their own file (a raw template holding just {{secret "…"}}, up to ${describeBytes(maxOutputBytes('raw'))})`;
    throw limitError(template.file, undefined, `the output is ${bytes} bytes, over the limit of ${describeBytes(max)} for format ${template.format}; ${instead}`);
  }
  if (hasLoneSurrogate(output)) throw invalid(template, `output line ${lineAt(output, /\p{Cs}/u.exec(output)?.index ?? 0)}: an unpaired UTF-16 surrogate, which UTF-8 cannot hold`);
  if (isAssignmentFormat(template.format)) checkAssignments(template, template.format, output, base);
  else if (template.format === 'json' || template.format === 'yaml') checkStructured(template, template.format, output, (placeholders) => shapeOf(template, base, placeholders, template.format));
  return output;
}

function run(template: Template, scope: RenderScope): string {
  try {
    return withScope(scope, () => template.run({}, runtimeOptions));
  } catch (error) {
    throw asRenderError(template, error);
  }
}

function encodeAt(template: Template, format: Format, value: string, at: Where): string {
  try {
    return encodeValue(format, value);
  } catch (error) {
    throw new AgentError('ERR_ENCODE_REFUSED', `${template.file}:${at.line}: ${at.label}: cannot be written as ${format}: ${(error as Error).message}`, { cause: error, details: { ...(error as AgentError).details, template: template.file, line: at.line } });
  }
}

/** `{{{x}}}` writes the value as it is, but never one the file's UTF-8 cannot hold unchanged (a lone surrogate). */
function rawAt(template: Template, value: string, at: Where): string {
  return encodeAt(template, 'raw', value, at);
}

/** A render with placeholders in place of the values: its parse is the template's structure. */
function shapeOf(template: Template, base: Base, placeholders: Placeholders, format: Format): string {
  return run(template, {
    ...base,
    emit: (value, at) => placeholders.add(value, at, 'escaped', (token) => encodeValue(format, token)),
    emitRaw: (value, at) => placeholders.add(value, at, 'raw', (token) => token),
    emitExplicit: (explicit, value, at) => placeholders.add(value, at, 'explicit', (token) => encodeValue(explicit, token)),
  });
}

/** KEY=value formats: the same assignments in the same order, each value read back exactly. */
function checkAssignments(template: Template, format: AssignmentFormat, output: string, base: Base): void {
  const nonce = randomBytes(6).toString('hex');
  // A placeholder is a valid key and a safe bare value, so it stands in for a value or a raw key alike.
  const placeholders = new Placeholders((i) => `SAPH${nonce}X${i}X`, `SAPH${nonce}X(\\d+)X`);
  const shape = shapeOf(template, base, placeholders, format);
  const expected = parseOutput(template, () => parseAssignments(format, shape));
  for (const want of expected) refuseQuotedAssignment(template, format, placeholders, want);
  const written = parseOutput(template, () => parseAssignments(format, output));
  if (written.length !== expected.length) {
    throw invalid(template, `the output has ${written.length} assignments where the template wrote ${expected.length}: a value changed the file's structure; write values as {{...}} (escaped)`);
  }
  written.forEach((got, i) => {
    const want = expected[i];
    if (want === undefined || got.key !== placeholders.substitute(want.key)) throw invalid(template, `output line ${got.line}: the key is not the one the template wrote there`);
    if (got.value !== placeholders.substitute(want.value)) throw invalid(template, `output line ${got.line}: ${got.key} does not read back as the value written; write values as {{...}} (escaped), or use another format`);
  });
}

/** A quoted `{{x}}` the AST could not see (quotes written by a block around it, or text joined to it). */
function refuseQuotedAssignment(template: Template, format: AssignmentFormat, placeholders: Placeholders, want: Assignment): void {
  const stand = placeholders.quotedIn(want.key) ?? placeholders.quotedIn(want.value);
  if (stand) throw quoted(template, stand);
  // docker has no quoting: a value the template wrapped in quotes keeps them (and docker/cli#6805 would strip them).
  const first = want.value.charAt(0);
  if (format === 'docker' && want.value.length >= 2 && (first === '"' || first === "'") && want.value.endsWith(first)) {
    const inside = placeholders.in(want.value).find((s) => s.kind !== 'raw');
    if (inside) throw quoted(template, inside);
  }
}

function parseOutput<T>(template: Template, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw invalid(template, `the output is not valid ${template.format}: ${(error as Error).message}`);
  }
}

/** Handlebars' own runtime errors say `"x" not defined in <the object>`: drop the object, keep the line. */
function asRenderError(template: Template, error: unknown): AgentError {
  if (isAgentError(error)) return error;
  const raw = error as Error & { lineNumber?: number };
  const line = raw.lineNumber === undefined ? undefined : raw.lineNumber + template.lineOffset;
  const missing = /^"([^"]+)" not defined in/.exec(raw.message)?.[1];
  // A dotted path whose middle is missing fails inside Handlebars' generated code, as a TypeError naming the next part.
  const unreadable = raw instanceof TypeError ? /\(reading '([^']*)'\)/.exec(raw.message)?.[1] : undefined;
  // Handlebars' other runtime messages are fixed texts ("#with requires exactly one argument"); keep them.
  const reason = missing !== undefined
    ? `"${missing}" is not defined`
    : unreadable !== undefined
      ? `a dotted path cannot reach "${unreadable}": a name before it has no value`
      : raw.message.split('\n')[0]?.replace(/ - \d+:\d+$/, '') ?? 'render failed';
  return new AgentError('ERR_TEMPLATE_RENDER', `${template.file}${line === undefined ? '' : `:${line}`}: ${reason}`, { cause: error, details: { template: template.file, line } });
}
