// JSON and YAML output (docs/templates.md "Validate before write"): the rendered document must have the same keys at
// every level as the template's shape, as many items in every list, and no key twice, so no value, raw ones
// included, can add, remove or repeat a key.
import { randomInt } from 'node:crypto';
import { isAlias, isMap, isPair, isScalar, isSeq, Lexer, parseDocument } from 'yaml';
import { AgentError, isAgentError } from '../errors.js';
import { limitError, MAX_YAML_TOKENS } from './limits.js';
import type { Template } from './load.js';
import { invalid, lineAt, Placeholders, quoted, verbatim } from './placeholders.js';
import type { Stand } from './placeholders.js';

/** A parsed JSON or YAML document, reduced to what the structure check needs. */
type Tree =
  | { readonly kind: 'map'; readonly entries: ReadonlyArray<readonly [string, Tree]> }
  | { readonly kind: 'seq'; readonly items: readonly Tree[] }
  | { readonly kind: 'scalar'; readonly value: unknown }
  | { readonly kind: 'alias'; readonly name: string };

/** Deepest document the check walks; configuration files nest a handful of levels. */
const MAX_DOCUMENT_DEPTH = 256;

/**
 * JSON and YAML: the output must parse, and have exactly the keys of the shape at every level (and as many items
 * in every list), with no key twice. A raw value that closes its string and opens keys (`bob", "admin": true`) or a
 * YAML line (`bob\nadmin: true`) therefore fails, naming the template line of the raw value, never the value.
 */
export function checkStructured(template: Template, format: 'json' | 'yaml', output: string, shapeOf: (placeholders: Placeholders) => string): void {
  // Digits only, fixed width: a raw placeholder is a valid JSON or YAML number outside quotes and plain text inside.
  const nonce = String(randomInt(10_000_000, 100_000_000));
  const placeholders = new Placeholders((i) => `1${nonce}${String(i).padStart(6, '0')}`, `1${nonce}(\\d{6})`);
  const parse = (text: string): Parsed => (format === 'json' ? { tree: jsonTree(template, text), warnings: [] } : yamlTree(template, text));
  const written = parse(output);
  const shapeText = shapeOf(placeholders);
  let shape: Parsed;
  try {
    shape = parse(shapeText);
  } catch (error) {
    if (!isAgentError(error, 'ERR_OUTPUT_INVALID')) throw error;
    const raw = placeholders.stands.find(verbatim);
    const where = raw === undefined ? '' : `:${raw.at.line}`;
    throw new AgentError('ERR_OUTPUT_INVALID', `${template.file}${where}: with its values replaced by placeholders the template is not valid ${format}, so a raw value${raw === undefined ? '' : ` such as {{{${raw.at.label}}}}`} is supplying ${format === 'json' ? 'JSON' : 'YAML'} syntax (quotes, brackets, commas); write values as {{...}} so they are ${format === 'json' ? 'JSON' : 'YAML'}-encoded`, {
      details: { template: template.file, line: raw?.at.line },
    });
  }
  compareTrees(template, placeholders, shape.tree, written.tree, '$');
  // Warnings (an unknown tag) the template's own text does not cause come from a value; other YAML readers may fail on them.
  const added = written.warnings.find((code) => !shape.warnings.includes(code));
  if (added !== undefined) throw structure(template, placeholders, shape.tree, `the output has a YAML warning (${added}) the template does not`);
}

interface Parsed {
  readonly tree: Tree;
  /** YAML warning codes, in order. */
  readonly warnings: readonly string[];
}

function compareTrees(template: Template, placeholders: Placeholders, shape: Tree, written: Tree, path: string): void {
  // Why: recursion follows the shape, whose depth jsonTree/yamlTree already bounded.
  if (shape.kind === 'scalar' && typeof shape.value === 'string') {
    const stand = placeholders.quotedIn(shape.value);
    if (stand) throw quoted(template, stand);
  }
  if (shape.kind !== written.kind) {
    throw structure(template, placeholders, shape, `at ${path} the template wrote ${describeKind(shape)} but the output has ${describeKind(written)}`);
  }
  if (shape.kind === 'map' && written.kind === 'map') {
    compareMaps(template, placeholders, shape, written, path);
  } else if (shape.kind === 'seq' && written.kind === 'seq') {
    if (shape.items.length !== written.items.length) {
      throw structure(template, placeholders, shape, `at ${path} the template wrote ${shape.items.length} items but the output has ${written.items.length}`);
    }
    shape.items.forEach((item, i) => {
      compareTrees(template, placeholders, item, written.items[i] ?? { kind: 'scalar', value: null }, `${path}[${i}]`);
    });
  } else if (shape.kind === 'alias' && written.kind === 'alias' && shape.name !== written.name) {
    throw structure(template, placeholders, shape, `at ${path} the output refers to another anchor than the template`);
  }
}

function compareMaps(template: Template, placeholders: Placeholders, shape: Extract<Tree, { kind: 'map' }>, written: Extract<Tree, { kind: 'map' }>, path: string): void {
  const templateKeys = new Set(shape.entries.map(([key]) => key).filter((key) => placeholders.in(key).length === 0));
  const seen = new Set<string>();
  for (const [key] of shape.entries) {
    const stand = placeholders.quotedIn(key);
    if (stand) throw quoted(template, stand);
    if (seen.has(key)) throw invalid(template, `at ${path} the template writes the key ${describeKey(key, placeholders)} twice`);
    seen.add(key);
  }
  const got = new Map<string, Tree>();
  for (const [key, value] of written.entries) {
    if (got.has(key)) {
      const which = templateKeys.has(key) ? `the key ${JSON.stringify(key)}` : 'a key';
      throw structure(template, placeholders, shape, `at ${path} the output holds ${which} twice, so a reader would keep only one of them`);
    }
    got.set(key, value);
  }
  const expected = shape.entries.map(([key, value]) => [placeholders.substitute(key), value, key] as const);
  const extra = written.entries.length - expected.length;
  if (extra !== 0 || expected.some(([key]) => !got.has(key))) {
    const what = extra > 0 ? `${extra} key${extra === 1 ? '' : 's'} the template did not write` : 'other keys than the template wrote';
    throw structure(template, placeholders, shape, `at ${path} the output has ${what}`);
  }
  for (const [key, value, source] of expected) {
    compareTrees(template, placeholders, value, got.get(key) ?? { kind: 'scalar', value: null }, `${path}${pathSegment(source, placeholders)}`);
  }
}

/** A structure error, naming the raw values inside the part of the template that changed (never their values). */
function structure(template: Template, placeholders: Placeholders, shape: Tree, what: string): AgentError {
  const raws = unique(standsIn(shape, placeholders).filter(verbatim));
  const suspects = raws.length > 0 ? raws : unique(placeholders.stands.filter(verbatim));
  const by = suspects.length === 0 ? '' : ` - written by the raw value${suspects.length === 1 ? '' : 's'} ${suspects.slice(0, 3).map((s) => `{{{${s.at.label}}}} at line ${s.at.line}`).join(', ')}${suspects.length > 3 ? ', ...' : ''}`;
  const line = suspects[0]?.at.line;
  return new AgentError('ERR_OUTPUT_INVALID', `${template.file}${line === undefined ? '' : `:${line}`}: ${what}${by}; a raw {{{...}}} value must not add, remove or repeat keys: write values as {{...}} so they are ${template.format === 'json' ? 'JSON' : 'YAML'}-encoded`, {
    details: { template: template.file, line },
  });
}

/** One stand per template line and label. */
function unique(stands: Stand[]): Stand[] {
  const seen = new Set<string>();
  return stands.filter((s) => {
    const id = `${s.at.line} ${s.at.label}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Every placeholder in a shape subtree, keys and scalars. */
function standsIn(tree: Tree, placeholders: Placeholders): Stand[] {
  if (tree.kind === 'map') return tree.entries.flatMap(([key, value]) => [...placeholders.in(key), ...standsIn(value, placeholders)]);
  if (tree.kind === 'seq') return tree.items.flatMap((item) => standsIn(item, placeholders));
  if (tree.kind === 'scalar' && (typeof tree.value === 'string' || typeof tree.value === 'number')) return placeholders.in(String(tree.value));
  return [];
}

function describeKind(tree: Tree): string {
  return { map: 'a mapping', seq: 'a list', scalar: 'a single value', alias: 'an alias' }[tree.kind];
}

/** A key as the template wrote it; a key that holds a value is shown as `*`, never the value. */
function describeKey(key: string, placeholders: Placeholders): string {
  return placeholders.in(key).length > 0 ? '*' : JSON.stringify(key);
}

function pathSegment(key: string, placeholders: Placeholders): string {
  const shown = describeKey(key, placeholders);
  return shown === '*' ? '.*' : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `.${key}` : `[${shown}]`;
}

/** JSON: JSON.parse decides validity; a small scanner keeps every key (JSON.parse keeps only the last of a repeated one). */
function jsonTree(template: Template, text: string): Tree {
  try {
    JSON.parse(text);
  } catch (error) {
    // V8 quotes a snippet of the input in its message, which may hold a secret: keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = position === undefined ? undefined : lineAt(text, Number(position));
    throw invalid(template, `the output is not valid JSON${line === undefined ? '' : ` (output line ${line})`}; write values as {{...}} so they are JSON-encoded`);
  }
  return scanJson(template, text);
}

type Building = { kind: 'map'; entries: Array<[string, Tree]>; key: string | undefined; expectKey: boolean } | { kind: 'seq'; items: Tree[] };

/** The tree of a text JSON.parse accepted: iterative, so nesting depth is bounded here and not by the stack. */
function scanJson(template: Template, text: string): Tree {
  const stack: Building[] = [];
  let root: Tree | undefined;
  const attach = (node: Tree): void => {
    const top = stack.at(-1);
    if (top === undefined) root = node;
    else if (top.kind === 'seq') top.items.push(node);
    else if (top.key === undefined) throw new Error('a value without a key');
    else {
      top.entries.push([top.key, node]);
      top.key = undefined;
    }
  };
  for (let i = 0; i < text.length; ) {
    const ch = text.charCodeAt(i);
    if (ch === 0x7b || ch === 0x5b) {
      // { or [
      if (stack.length >= MAX_DOCUMENT_DEPTH) throw invalid(template, `the output nests deeper than ${MAX_DOCUMENT_DEPTH} levels`);
      stack.push(ch === 0x7b ? { kind: 'map', entries: [], key: undefined, expectKey: true } : { kind: 'seq', items: [] });
      i += 1;
    } else if (ch === 0x7d || ch === 0x5d) {
      // } or ]
      const done = stack.pop();
      if (done === undefined) throw new Error('unbalanced');
      attach(done.kind === 'map' ? { kind: 'map', entries: done.entries } : { kind: 'seq', items: done.items });
      i += 1;
    } else if (ch === 0x22) {
      // A string: JSON.parse has checked it, so only its end needs finding; escapes are decoded by JSON.parse.
      let end = i + 1;
      let escaped = false;
      for (let c = text.charCodeAt(end); c !== 0x22; c = text.charCodeAt(end)) {
        if (c === 0x5c) {
          escaped = true;
          end += 2;
        } else {
          end += 1;
        }
      }
      const value = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
      const top = stack.at(-1);
      // A string right after `{` or `,` in an object is a key.
      if (top?.kind === 'map' && top.expectKey) {
        top.key = value;
        top.expectKey = false;
      } else {
        attach({ kind: 'scalar', value });
      }
      i = end + 1;
    } else if (ch === 0x2c) {
      // ,
      const top = stack.at(-1);
      if (top?.kind === 'map') top.expectKey = true;
      i += 1;
    } else if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d || ch === 0x3a) {
      i += 1;
    } else {
      // true, false, null or a number: up to the next delimiter.
      let end = i + 1;
      for (let c = text.charCodeAt(end); end < text.length && c !== 0x2c && c !== 0x7d && c !== 0x5d && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d; c = text.charCodeAt(end)) end += 1;
      const word = text.slice(i, end);
      attach({ kind: 'scalar', value: word === 'true' ? true : word === 'false' ? false : word === 'null' ? null : Number(word) });
      i = end;
    }
  }
  if (root === undefined) throw new Error('empty document');
  return root;
}

/** YAML: parsed without the library's own duplicate check, so the message can name the key; errors refuse. */
function yamlTree(template: Template, text: string): Parsed {
  let tokens = 0;
  for (const token of new Lexer().lex(text)) {
    tokens += token.length > 0 ? 1 : 0;
    if (tokens > MAX_YAML_TOKENS) throw limitError(template.file, undefined, `the YAML output has more than ${MAX_YAML_TOKENS} tokens (keys, values, indicators), over the limit; split the template`);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const problem = doc.errors[0];
  if (problem) throw invalid(template, `the output is not valid YAML (${problem.code}${problem.linePos ? ` at output line ${problem.linePos[0].line}` : ''}); write values as {{...}} so they are YAML-encoded`);
  return { tree: yamlNode(template, doc.contents, 0), warnings: doc.warnings.map((warning) => warning.code) };
}

function yamlNode(template: Template, node: unknown, depth: number): Tree {
  if (depth > MAX_DOCUMENT_DEPTH) throw invalid(template, `the output nests deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  if (isMap(node)) return { kind: 'map', entries: node.items.map((pair) => [yamlKey(pair.key), yamlNode(template, pair.value, depth + 1)] as [string, Tree]) };
  if (isSeq(node)) {
    return {
      kind: 'seq',
      items: node.items.map((item) => (isPair(item) ? { kind: 'map', entries: [[yamlKey(item.key), yamlNode(template, item.value, depth + 2)]] } : yamlNode(template, item, depth + 1))),
    };
  }
  if (isAlias(node)) return { kind: 'alias', name: node.source };
  if (isScalar(node)) return { kind: 'scalar', value: node.value };
  return { kind: 'scalar', value: null };
}

/** A key as a reader's object sees it: `1` and `"1"` are the same key there. */
function yamlKey(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  if (isAlias(key)) return `\0*${key.source}`;
  // A mapping or list as a key: compared by its text, never equal to a plain key.
  return `\0${String(key)}`;
}
