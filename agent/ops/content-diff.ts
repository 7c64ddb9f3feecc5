// What would change in one rendered file, by name only: keys of assignment formats (dotenv, shell, docker),
// flattened key paths of JSON and YAML, line numbers of anything else. Values are compared, never returned,
// so a diff can be printed where the values themselves must not appear (`check --diff`).
import { parse as parseYaml } from 'yaml';
import { isAgentError } from '../errors.js';
import { parseAssignments } from '../template/assignments.js';
import { isAssignmentFormat } from '../template/formats.js';
import type { Format } from '../template/formats.js';

export interface Change {
  readonly kind: 'added' | 'removed' | 'changed';
  /** A key (`BINANCE_API_KEY`), a key path (`exchanges.binance.api_key`) or a line (`line 3`). */
  readonly name: string;
}

export interface ContentDiff {
  readonly changes: readonly Change[];
  /** Said when the changes alone would mislead: a new file, only formatting changed, a fallback to lines. */
  readonly note?: string;
}

/** Largest line product compared with an exact LCS; longer files are compared line by line in place. */
const LCS_LIMIT = 4_000_000;

/** Compare the file as it is (`before`, undefined when missing) with what would be written (`after`). */
export function diffContent(format: Format, before: string | undefined, after: string): ContentDiff {
  if (before === after) return { changes: [] };
  const afterEntries = entries(format, after);
  if (before === undefined) return { changes: afterEntries ? [...afterEntries.keys()].map((name) => ({ kind: 'added', name })) : lineChanges('', after), note: 'new file' };
  const beforeEntries = entries(format, before);
  if (afterEntries === undefined || beforeEntries === undefined) {
    const fallback = afterEntries === undefined ? {} : { note: `the current file does not parse as ${format}; compared line by line` };
    return { changes: lineChanges(before, after), ...fallback };
  }
  const changes = keyChanges(beforeEntries, afterEntries);
  return changes.length === 0 ? { changes, note: 'only comments or formatting change' } : { changes };
}

/** Why: keys in the order of the new file first, then the removed ones in the order of the old file. */
function keyChanges(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Change[] {
  const changes: Change[] = [];
  for (const [name, value] of after) {
    if (!before.has(name)) changes.push({ kind: 'added', name });
    else if (before.get(name) !== value) changes.push({ kind: 'changed', name });
  }
  for (const name of before.keys()) if (!after.has(name)) changes.push({ kind: 'removed', name });
  return changes;
}

/** name → comparable value for a structured format; undefined when the text does not parse as it. */
function entries(format: Format, text: string): Map<string, string> | undefined {
  try {
    if (isAssignmentFormat(format)) return new Map(parseAssignments(format, text).map(({ key, value }) => [key, value]));
    if (format === 'json') return flatten(JSON.parse(text) as unknown);
    if (format === 'yaml') return flatten(parseYaml(text) as unknown);
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxError || isAgentError(error) || (error as Error).name.startsWith('YAML')) return undefined;
    throw error;
  }
}

/** `{a: {b: [1]}}` → `a.b[0]`; each leaf as JSON text, so `5432` and `"5432"` differ. */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value) && value.length > 0) {
    value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, out));
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) flatten(item, /^[A-Za-z0-9_-]+$/.test(key) ? `${prefix === '' ? '' : `${prefix}.`}${key}` : `${prefix}[${JSON.stringify(key)}]`, out);
  } else {
    out.set(prefix === '' ? '(document)' : prefix, JSON.stringify(value));
  }
  return out;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Lines added, removed or changed, by an LCS over the lines that differ: within one run of differences,
 * removed and added lines pair up as changed (named by their new line number), the rest stay added or removed.
 */
export function lineChanges(before: string, after: string): Change[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const middleA = a.slice(start, endA);
  const middleB = b.slice(start, endB);
  const ops = middleA.length * middleB.length <= LCS_LIMIT ? lcsOps(middleA, middleB) : positionalOps(middleA, middleB);
  const lines: Array<{ kind: Change['kind']; line: number }> = [];
  let i = start;
  let j = start;
  let removed: number[] = [];
  let added: number[] = [];
  const flush = (): void => {
    const paired = Math.min(removed.length, added.length);
    for (let k = 0; k < paired; k++) lines.push({ kind: 'changed', line: (added[k] ?? 0) + 1 });
    for (const index of added.slice(paired)) lines.push({ kind: 'added', line: index + 1 });
    for (const index of removed.slice(paired)) lines.push({ kind: 'removed', line: index + 1 });
    removed = [];
    added = [];
  };
  for (const op of ops) {
    if (op === '=') { flush(); i++; j++; } else if (op === '-') removed.push(i++); else added.push(j++);
  }
  flush();
  return ranges(lines);
}

/** Why: a replaced PEM block reads better as `lines 2-26` than as 25 entries. */
function ranges(lines: ReadonlyArray<{ kind: Change['kind']; line: number }>): Change[] {
  const changes: Change[] = [];
  for (let k = 0; k < lines.length;) {
    const first = lines[k];
    if (first === undefined) break;
    let last = first.line;
    while (lines[k + 1]?.kind === first.kind && lines[k + 1]?.line === last + 1) last = lines[++k]?.line ?? last;
    k++;
    changes.push({ kind: first.kind, name: last === first.line ? `line ${first.line}` : `lines ${first.line}-${last}` });
  }
  return changes;
}

/** The classic dynamic-programming LCS, as a list of keep (=), remove (-) and add (+) steps. */
function lcsOps(a: readonly string[], b: readonly string[]): string[] {
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] = a[i] === b[j] ? (table[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(table[(i + 1) * width + j] ?? 0, table[i * width + j + 1] ?? 0);
    }
  }
  const ops: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { ops.push('='); i++; j++; } else if ((table[(i + 1) * width + j] ?? 0) >= (table[i * width + j + 1] ?? 0)) { ops.push('-'); i++; } else { ops.push('+'); j++; }
  }
  while (i++ < a.length) ops.push('-');
  while (j++ < b.length) ops.push('+');
  return ops;
}

/** Why: a huge file still gets an answer, line against line, when an exact LCS would cost too much memory. */
function positionalOps(a: readonly string[], b: readonly string[]): string[] {
  const ops: string[] = [];
  const common = Math.min(a.length, b.length);
  for (let k = 0; k < common; k++) ops.push(...(a[k] === b[k] ? ['='] : ['-', '+']));
  for (let k = common; k < a.length; k++) ops.push('-');
  for (let k = common; k < b.length; k++) ops.push('+');
  return ops;
}
