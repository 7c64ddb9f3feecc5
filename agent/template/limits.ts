// Bounded templates (docs/templates.md "Limits"): a template's size, its block nesting and its number of
// Handlebars expressions are checked by one linear scan of the text before Handlebars parses it, because
// Handlebars' parser and compiler are synchronous and super-linear on deep nesting: a hostile template must be
// refused in milliseconds, never block the event loop (and with it /health/live) for seconds. What Handlebars
// compiles is bounded after parsing, by plan.ts (MAX_COMPILED_EXPRESSIONS).
import { AgentError } from '../errors.js';
import type { Format } from './formats.js';

/** Largest template file, front matter included. */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;
/** Largest front matter (the YAML between the `---` lines). */
export const MAX_FRONT_MATTER_BYTES = 16 * 1024;
/** Deepest nesting of blocks (`{{#…}}`, `{{^…}}`, each `{{else …}}` of a chain) and of sub-expressions. */
export const MAX_NESTING = 64;
/** Most `{{…}}` expressions in one template (comments excluded): the contract's 50,000 references. */
export const MAX_EXPRESSIONS = 50_000;
/**
 * Most expressions Handlebars compiles in one template: those in blocks or reading the context, with their
 * sub-expressions (plan.ts renders top-level helper calls with literal arguments without compiling them).
 */
export const MAX_COMPILED_EXPRESSIONS = 2000;
/** Most expressions in one compiled chunk of top-level statements (a single block may hold more). */
export const MAX_CHUNK_EXPRESSIONS = 100;
/** Expressions after which the body may be parsed as a new piece, at the next top-level line (see scanTemplate). */
export const PIECE_EXPRESSIONS = 1000;
/** Largest rendered file in format raw, which is written without being parsed back. */
export const MAX_RAW_OUTPUT_BYTES = 1024 * 1024;
/** Largest rendered file in the other formats: each is parsed twice per render (docs/templates.md "Validate before write"). */
export const MAX_PARSED_OUTPUT_BYTES = 128 * 1024;
/** Most helper calls and `#each` iterations in one render: 50,000 references of up to four helper calls each. */
export const MAX_RENDER_STEPS = 200_000;
/** Most characters given to the string helpers and explicit encoders in one render: 16 times the largest output. */
export const MAX_HELPER_CHARS = 16 * 1024 * 1024;
/** Most YAML tokens in a rendered YAML file: the YAML parser costs microseconds a token. */
export const MAX_YAML_TOKENS = 10_000;

/** The largest output of `format`. */
export function maxOutputBytes(format: Format): number {
  return format === 'raw' ? MAX_RAW_OUTPUT_BYTES : MAX_PARSED_OUTPUT_BYTES;
}

const MiB = 1024 * 1024;

/** `1 MiB`, `16 KiB`, or a byte count. */
export function describeBytes(bytes: number): string {
  // Why: limits are named in the unit an operator thinks in.
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** The error of every limit: `file[:line]: what; the limit`. */
export function limitError(file: string, line: number | undefined, message: string): AgentError {
  // Why: one code for every bound, so an operator can tell "too big" from "broken".
  return new AgentError('ERR_TEMPLATE_LIMIT', `${file}${line === undefined ? '' : `:${line}`}: ${message}`, { details: { template: file, line } });
}

/** Refuses a template file over MAX_TEMPLATE_BYTES; `bytes` is its size on disk or its UTF-8 length. */
export function checkTemplateSize(file: string, bytes: number): void {
  // Why: checked from the file's size before it is read, and again on the text for callers that pass text.
  if (bytes > MAX_TEMPLATE_BYTES) {
    throw limitError(file, undefined, `the template is ${bytes} bytes, over the limit of ${describeBytes(MAX_TEMPLATE_BYTES)}; split it into several templates`);
  }
}

/** A block the scan saw open and never close: where it opened and its helper (`each`, `if`). */
export interface OpenBlock {
  readonly line: number;
  readonly helper: string;
}

export interface Scan {
  /** The innermost block still open at the end of the text, for a clearer parse error. */
  readonly unclosed: OpenBlock | undefined;
  /**
   * Offsets where the body may be cut and each piece parsed on its own with the same result: just after the last
   * newline of a text between two top-level tags, neither of which strips whitespace across it (`~`), every
   * PIECE_EXPRESSIONS expressions or so. Parsing in pieces keeps one piece's syntax tree in memory, not the whole
   * template's (about 2 KiB per expression).
   */
  readonly splits: number[];
}

/** A linear scan of a Handlebars body: nesting and expression count; throws ERR_TEMPLATE_LIMIT with the line. */
export function scanTemplate(file: string, body: string, lineOffset: number): Scan {
  // Why: this runs before Handlebars sees the text, so it must understand just enough of the syntax to count
  // honestly: comments and escaped mustaches are text, strings inside an expression may hold "{{" or "}}".
  const lines = new LineCounter(body, lineOffset);
  const frames: Array<{ levels: number; line: number; helper: string }> = [];
  const splits: number[] = [];
  const done = (): Scan => {
    const last = frames.at(-1);
    return { unclosed: last === undefined ? undefined : { line: last.line, helper: last.helper }, splits };
  };
  let depth = 0;
  let expressions = 0;
  let i = 0;
  // The text since the last tag: where it starts, whether an escape or a raw block is in it, whether that tag ended `~}}`.
  let run = 0;
  let plain = true;
  let sincePiece = 0;
  /** At a tag starting at `start` (after `{{`, `k`): cut before it when the text leading to it allows. */
  const cut = (start: number, k: number): void => {
    if (depth !== 0 || !plain || sincePiece < PIECE_EXPRESSIONS || k !== start + 2) return;
    const newline = body.lastIndexOf('\n', start - 1);
    if (newline < run) return;
    splits.push(newline + 1);
    sincePiece = 0;
  };
  const open = (at: number, levels: number): void => {
    depth += levels;
    if (depth > MAX_NESTING) throw limitError(file, lines.at(at), `blocks nest deeper than ${MAX_NESTING} levels (this one is level ${depth}); flatten the template`);
  };
  for (;;) {
    const start = body.indexOf('{{', i);
    if (start === -1) return done();
    if (escapedAt(body, start)) {
      // `\{{x}}` is text up to the next "{{" (Handlebars' own rule).
      i = start + 2;
      plain = false;
      continue;
    }
    if (body.startsWith('{{{{', start)) {
      // A raw block: its open tag is an expression, its content text up to the matching `{{{{/name}}}}`.
      const tag = expressionEnd(body, start + 4);
      if (tag.index === -1 || !body.startsWith('}}}}', tag.index)) return { unclosed: undefined, splits }; // Handlebars reports it
      if (tag.parens > MAX_NESTING) throw limitError(file, lines.at(start), `sub-expressions nest deeper than ${MAX_NESTING} levels; flatten the expression`);
      const end = rawBlockEnd(body, tag.index + 4);
      if (end === -1) return { unclosed: undefined, splits }; // unterminated: Handlebars reports it
      i = end;
      plain = false;
      continue;
    }
    let k = start + 2;
    if (body[k] === '~') k += 1;
    cut(start, k);
    if (body[k] === '!') {
      // Comments are text: `{{!-- … --}}` may hold "}}", `{{! … }}` may not.
      const long = body.startsWith('--', k + 1);
      const end = long ? /--~?\}\}/g : /\}\}/g;
      end.lastIndex = long ? k + 3 : k + 1;
      const found = end.exec(body);
      if (!found) return { unclosed: undefined, splits };
      i = found.index + found[0].length;
      run = i;
      plain = body[i - 3] !== '~';
      continue;
    }
    expressions += 1;
    sincePiece += 1;
    if (expressions > MAX_EXPRESSIONS) throw limitError(file, lines.at(start), `more than ${MAX_EXPRESSIONS} {{...}} expressions; split the template`);
    const end = expressionEnd(body, k);
    if (end.index === -1) return { unclosed: undefined, splits }; // unterminated: Handlebars reports it
    if (end.parens > MAX_NESTING) throw limitError(file, lines.at(start), `sub-expressions nest deeper than ${MAX_NESTING} levels; flatten the expression`);
    const kind = classify(body, k, end.index);
    if (kind === 'open') {
      frames.push({ levels: 1, line: lines.at(start), helper: /^[#^]\s*\*?([^\s}~()]*)/.exec(body.slice(k, end.index))?.[1] ?? '' });
      open(start, 1);
    } else if (kind === 'chain') {
      // `{{else if x}}` nests a new block inside the previous one; the chain's `{{/if}}` closes them all.
      const last = frames.at(-1);
      if (last) last.levels += 1;
      open(start, 1);
    } else if (kind === 'close') {
      depth -= frames.pop()?.levels ?? 0;
    }
    i = end.index + 2;
    run = i;
    plain = body[end.index - 1] !== '~';
  }
}

/** Handlebars' ID: the name in a raw block's close tag `{{{{/name}}}}`. */
const rawClose = /\{\{\{\{\/[^\s!"#%-,./;->@[-^`{-~]+\}\}\}\}/y;

/** The index just past the `{{{{/name}}}}` that ends a raw block whose content starts at `from`, or -1. */
function rawBlockEnd(text: string, from: number): number {
  // Why: mirrors Handlebars' lexer, in which `{{{{x` inside a raw block opens a nested one (its content too), and a
  // close tag ends the innermost; ending at the first `{{{{/` would let a nested raw block hide the text after it.
  let depth = 1;
  for (let at = text.indexOf('{{{{', from); at !== -1; at = text.indexOf('{{{{', at)) {
    if (text[at + 4] !== '/') {
      depth += 1;
      at += 4;
      continue;
    }
    rawClose.lastIndex = at;
    if (!rawClose.test(text)) {
      at += 1;
      continue;
    }
    depth -= 1;
    if (depth === 0) return rawClose.lastIndex;
    at = rawClose.lastIndex;
  }
  return -1;
}

/** True when the "{{" at `at` is escaped by one backslash (two backslashes are one literal backslash and a mustache). */
function escapedAt(text: string, at: number): boolean {
  // Why: Handlebars reads `\{{` as literal text and `\\{{` as a backslash followed by a real expression.
  return text[at - 1] === '\\' && text[at - 2] !== '\\';
}

/** What a `{{…}}` does to nesting; `k` is just after `{{` and an optional `~`, `end` at its `}}`. */
function classify(text: string, k: number, end: number): 'open' | 'chain' | 'close' | 'other' {
  // Why: mirrors Handlebars' lexer: `{{#`, `{{^x` open; `{{/` closes; `{{^}}` and `{{else}}` are plain inverses;
  // `{{else x}}` (anything after else) chains.
  const ch = text[k];
  if (ch === '#') return 'open';
  if (ch === '/') return 'close';
  const inner = text.slice(k, end);
  if (ch === '^') return /^\^\s*~?$/.test(inner) ? 'other' : 'open';
  const elseMatch = /^\s*else/.exec(inner);
  if (elseMatch) return /^\s*~?$/.test(inner.slice(elseMatch[0].length)) ? 'other' : 'chain';
  return 'other';
}

/** Index of the `}}` that closes an expression starting at `k`, skipping string literals and `[…]` segments. */
function expressionEnd(text: string, k: number): { index: number; parens: number } {
  // Why: `{{x "}}"}}` and `{{[a}}b]}}` are one expression each; a naive search would resynchronise wrongly.
  let parens = 0;
  let maxParens = 0;
  for (let i = k; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"' || ch === "'") {
      const close = stringEnd(text, i + 1, ch);
      if (close === -1) return { index: -1, parens: maxParens };
      i = close;
    } else if (ch === '[') {
      const close = stringEnd(text, i + 1, ']');
      if (close === -1) return { index: -1, parens: maxParens };
      i = close;
    } else if (ch === '(') {
      parens += 1;
      if (parens > maxParens) maxParens = parens;
    } else if (ch === ')') {
      parens -= 1;
    } else if (ch === '}' && text[i + 1] === '}') {
      return { index: i, parens: maxParens };
    }
  }
  return { index: -1, parens: maxParens };
}

/** Index of the unescaped `close` character from `from`, or -1. */
function stringEnd(text: string, from: number, close: string): number {
  // Why: Handlebars strings and segments end at the first close character not preceded by a backslash.
  for (let i = text.indexOf(close, from); i !== -1; i = text.indexOf(close, i + 1)) {
    if (text[i - 1] !== '\\') return i;
  }
  return -1;
}

/** Line numbers of increasing offsets, counted once: the scan stays linear. */
class LineCounter {
  #pos = 0;
  #line = 1;
  constructor(
    readonly text: string,
    readonly offset: number,
  ) {}
  /** The file line of `index`; `index` never decreases between calls. */
  at(index: number): number {
    // Why: errors name the template file's line, front matter included.
    for (let nl = this.text.indexOf('\n', this.#pos); nl !== -1 && nl < index; nl = this.text.indexOf('\n', nl + 1)) this.#line += 1;
    this.#pos = Math.max(this.#pos, index);
    return this.#line + this.offset;
  }
}
