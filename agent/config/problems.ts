// Turn zod issues into one line per problem: where it came from (file:line:column, env var or flag), the key
// path, what was expected and what was got. Values are never echoed; only enum values (which are not secrets).
import type * as z from 'zod';
import { DURATION_PATTERN } from './duration.js';
import { notifierForm } from './notifiers.js';
import { isRecord } from './sources.js';
import { closest, normalize } from './suggest.js';

type Json = Record<string, unknown>;
type Path = readonly (string | number)[];

/** What the formatter needs besides the issues: the merged input, the source of a key, the JSON Schema. */
export interface ProblemContext {
  /** The merged (unparsed) configuration the issues are about; used for types and notifier kinds only. */
  readonly input: unknown;
  /** `file.yaml:3:5`, `env VAULT_ADDR`, `flag --backend` or `default` for a key path. */
  sourceOf(path: Path): string;
  /** The configuration's JSON Schema (input side): valid keys for suggestions. */
  readonly jsonSchema: Json;
}

// Why: one readable line per problem is what an operator can act on; nested union issues are flattened here.
/** One line per problem, in schema order, duplicates removed. */
export function describeProblems(issues: readonly z.core.$ZodIssue[], context: ProblemContext): string[] {
  const out: string[] = [];
  for (const issue of issues) describe(issue, [], context, out);
  return [...new Set(out)];
}

// Why: key paths are shown as people write them (`vault.auth.method`, `chain[1]`, `env.map["a/b"]`).
/** Format a key path: dotted names, `[n]` for list items, quoted brackets for names with other characters. */
export function keyPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

// Why: a switch per issue code gives each kind of problem its own expected-vs-got wording.
function describe(issue: z.core.$ZodIssue, base: Path, context: ProblemContext, out: string[]): void {
  const path: Path = [...base, ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)))];
  const line = (text: string) => `${context.sourceOf(path)}: ${keyPath(path) || '(top level)'}: ${text}`;
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push(unknownKey([...path, key], path, context));
      return;
    case 'invalid_union':
      unionProblem(issue, path, context, out, line);
      return;
    case 'invalid_key':
      out.push(line(`invalid name: ${issue.issues[0]?.message ?? 'not allowed here'}`));
      return;
    case 'invalid_type':
      out.push(line(typeProblem(issue.expected, path, context)));
      return;
    case 'invalid_value':
      out.push(line(valueProblem(issue.values, valueAt(context.input, path))));
      return;
    default:
      out.push(line(issue.message));
  }
}

// Why: the commonest config mistake is a typo in a key; name the closest valid key, or where the key belongs.
function unknownKey(full: Path, parent: Path, context: ProblemContext): string {
  const key = String(full[full.length - 1]);
  const siblings = keysAt(context.jsonSchema, parent);
  const near = closest(key, siblings);
  const elsewhere = near === undefined ? allKeyPaths(context.jsonSchema).find((path) => normalize(path[path.length - 1] ?? '') === normalize(key)) : undefined;
  const suggestion = near !== undefined ? keyPath([...parent, near]) : elsewhere && keyPath(elsewhere);
  const hint = siblings.includes(key)
    ? ` - it cannot be combined with the other keys of "${keyPath(parent)}"`
    : suggestion !== undefined ? ` - did you mean "${suggestion}"?` : siblings.length > 0 ? ` (valid keys here: ${siblings.join(', ')})` : '';
  return `${context.sourceOf(full)}: unknown key "${keyPath(full)}"${hint}`;
}

// Why: notifiers are an exclusive union; report the issues of the form the operator meant (the kind key present).
function unionProblem(issue: z.core.$ZodIssueInvalidUnion, path: Path, context: ProblemContext, out: string[], line: (text: string) => string): void {
  const value = valueAt(context.input, path);
  if (!isRecord(value)) {
    out.push(line(`expected a mapping, got ${typeName(value)}`));
    return;
  }
  const form = notifierForm(value);
  const chosen = 'index' in form ? issue.errors[form.index] : undefined;
  if (chosen === undefined || chosen.length === 0) {
    out.push(line('problem' in form ? form.problem : 'matches none of the notifier forms'));
    return;
  }
  for (const sub of chosen) describe(sub, path, context, out);
}

const EXPECTED: Record<string, string> = { object: 'a mapping', record: 'a mapping', array: 'a list', string: 'a string', boolean: 'true or false', number: 'a number' };

// Why: "expected a string, got a number" is enough to fix a value without showing it.
function typeProblem(expected: string, path: Path, context: ProblemContext): string {
  const got = valueAt(context.input, path);
  const isDuration = nodesAt(context.jsonSchema, path).some((node) => node['pattern'] === DURATION_PATTERN);
  const want = `${EXPECTED[expected] ?? expected}${isDuration ? ' (a duration with a unit, such as "30s")' : ''}`;
  return got === undefined ? `required, expected ${want}` : `expected ${want}, got ${typeName(got)}`;
}

// Why: enum values are the one kind of value safe to print; the operator's own value is described, not shown.
function valueProblem(values: readonly unknown[], got: unknown): string {
  const expected = `expected one of ${values.map((value) => JSON.stringify(value)).join(' | ')}`;
  if (typeof got !== 'string') return `${expected}, got ${typeName(got)}`;
  if (values.some((value) => typeof value === 'number' && String(value) === got)) return `${expected}, got the string "${got}" - write it without quotes`;
  const near = closest(got, values.filter((value): value is string => typeof value === 'string'));
  return `${expected}, got another string${near === undefined ? '' : ` - did you mean "${near}"?`}`;
}

// Why: describing a value by its type never leaks it.
function typeName(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

// Why: the merged input is what the operator wrote; issues only carry paths into it.
function valueAt(input: unknown, path: Path): unknown {
  let node = input;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment] as unknown;
    else if (isRecord(node) && Object.hasOwn(node, segment)) node = node[String(segment)];
    else return undefined;
  }
  return node;
}

// Why: a record or a oneOf means several schema nodes can describe one path; collect them all.
function nodesAt(root: Json, path: Path): Json[] {
  let nodes = expand(root);
  for (const segment of path) {
    const next: Json[] = [];
    for (const node of nodes) {
      const properties = node['properties'];
      const child = typeof segment === 'number' ? node['items'] : isRecord(properties) && Object.hasOwn(properties, segment) ? properties[segment] : node['additionalProperties'];
      if (isRecord(child)) next.push(...expand(child));
    }
    nodes = next;
  }
  return nodes;
}

// Why: the alternatives of a oneOf/anyOf each describe the same place in the document.
function expand(node: Json): Json[] {
  const options = node['oneOf'] ?? node['anyOf'];
  return [node, ...(Array.isArray(options) ? options.filter(isRecord).flatMap(expand) : [])];
}

// Why: suggestions come from the keys valid at the unknown key's own level.
function keysAt(root: Json, path: Path): string[] {
  const keys = nodesAt(root, path).flatMap((node) => (isRecord(node['properties']) ? Object.keys(node['properties']) : []));
  return [...new Set(keys)];
}

// Why: a key written at the wrong level (`address:` at the top) is found by its name elsewhere in the schema.
function allKeyPaths(node: Json, prefix: string[] = []): string[][] {
  const properties = node['properties'];
  if (!isRecord(properties)) return [];
  return Object.entries(properties).flatMap(([key, child]) => [[...prefix, key], ...(isRecord(child) ? allKeyPaths(child, [...prefix, key]) : [])]);
}
