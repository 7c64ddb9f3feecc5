// Read rendered KEY=value output back the way its real consumers would, strictly: any line whose meaning the
// consumers of the format disagree on (or that they would skip) is an error, so "parses" means "reads back the same
// everywhere" (docs/templates.md). Errors name the line, never its content.
import { AgentError } from '../errors.js';
import { dotenvWhitespace, interpolation } from './encoders.js';
import type { AssignmentFormat } from './formats.js';

export interface Assignment {
  key: string;
  value: string;
  /** 1-based line where the assignment starts. */
  line: number;
}

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const keyRule = 'a key must match ^[A-Za-z_][A-Za-z0-9_]*$';

/** Parse `text` as `format` output into its assignments, in order; throws ERR_OUTPUT_INVALID naming the line. */
export function parseAssignments(format: AssignmentFormat, text: string): Assignment[] {
  // Why: validate-before-write needs the keys and values each consumer will see, or a refusal when they would differ.
  rejectEverywhere(text, format);
  const cursor = new Cursor(text);
  const out: Assignment[] = [];
  while (!cursor.done()) {
    const start = cursor.line;
    const assignment = format === 'dotenv' ? dotenvLine(cursor) : format === 'shell' ? shellLine(cursor) : dockerLine(cursor);
    if (assignment) out.push({ ...assignment, line: start });
  }
  return out;
}

/** Throws the parse error for `line`; the message is a description, never the text. */
function fail(line: number, what: string): never {
  // Why: one shape for every parse error, "line N: what is wrong".
  throw new AgentError('ERR_OUTPUT_INVALID', `line ${line}: ${what}`, { details: { line } });
}

/** Position in the text plus the current 1-based line number. */
class Cursor {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}
  // Why: the parsers need whole physical lines for headers and a character stream for quotes that span lines.
  done(): boolean {
    return this.pos >= this.text.length;
  }
  /** The rest of the current physical line (without its LF), consumed together with the LF. */
  takeLine(): string {
    // Why: most decisions are per line; consuming the LF here keeps line counting in one place.
    const end = this.text.indexOf('\n', this.pos);
    const stop = end === -1 ? this.text.length : end;
    const rest = this.text.slice(this.pos, stop);
    this.pos = end === -1 ? stop : stop + 1;
    if (end !== -1) this.line += 1;
    return rest;
  }
  /** The rest of the current physical line without consuming it. */
  peekLine(): string {
    // Why: the header is matched on the line, then the value is read from the same position.
    const end = this.text.indexOf('\n', this.pos);
    return this.text.slice(this.pos, end === -1 ? this.text.length : end);
  }
  /** Everything up to the next `quote` (which is consumed), counting lines; throws when there is none. */
  takeQuoted(quote: string, openLine: number, name: string): string {
    // Why: quoted values may span lines in every consumer, and an unterminated one must name where it opened.
    const end = this.text.indexOf(quote, this.pos);
    if (end === -1) fail(openLine, `a ${name} opened here is never closed`);
    const inner = this.text.slice(this.pos, end);
    this.line += countLines(inner);
    this.pos = end + 1;
    return inner;
  }
}

/** Number of LFs in `s`. */
function countLines(s: string): number {
  // Why: line numbers must stay right after multi-line quoted values.
  let n = 0;
  for (const ch of s) if (ch === '\n') n += 1;
  return n;
}

/** Line number of index `i` in `text`. */
function lineAt(text: string, i: number): number {
  // Why: whole-text checks still have to name a line.
  return countLines(text.slice(0, i)) + 1;
}

/** Characters no format may hold anywhere: NUL, lone surrogates; and CR for the formats that cannot carry it. */
function rejectEverywhere(text: string, format: AssignmentFormat): void {
  // Why: these break whole files (or whole environments) regardless of where they appear.
  const nul = text.indexOf('\0');
  if (nul !== -1) fail(lineAt(text, nul), 'contains a NUL character, which no environment can hold');
  const surrogate = /\p{Cs}/u.exec(text);
  if (surrogate) fail(lineAt(text, surrogate.index), 'contains an unpaired UTF-16 surrogate, so the file would not be valid UTF-8');
  const cr = text.indexOf('\r');
  if (cr !== -1 && format === 'dotenv') fail(lineAt(text, cr), "contains a carriage return, which python-dotenv and npm dotenv read as a line break and Node's parser cannot carry");
  if (cr !== -1 && format === 'docker') fail(lineAt(text, cr), 'contains a carriage return, which docker --env-file drops at the end of a line');
}

/** Rest of the line after a closing quote: dotenv allows whitespace and a `#` comment. */
const dotenvAfterQuote = /^[ \t]*(?:#.*)?$/;

/** One dotenv line: python-dotenv, npm dotenv (both parsers) and Node's util.parseEnv must agree on it. */
function dotenvLine(c: Cursor): Omit<Assignment, 'line'> | undefined {
  // Why: Node only skips truly empty lines and column-0 comments, so anything looser is refused here.
  const line = c.line;
  const raw = c.peekLine();
  if (raw === '') return void c.takeLine();
  if (raw.startsWith('#')) {
    // Node skips a comment only when a newline follows; on the last line its `=` would start a key.
    if (c.pos + raw.length === c.text.length && raw.includes('=')) fail(line, "a comment on the last line without a newline holds '=', which Node's parser reads as an assignment");
    return void c.takeLine();
  }
  if (/^[ \t]+$/.test(raw)) fail(line, "a line of only whitespace, which Node's parser joins to the next line's key");
  if (/^[ \t]*#/.test(raw)) fail(line, "an indented comment, which Node's parser reads as part of the next key; start comments in the first column");
  const head = /^ *(?:export )?([A-Za-z_][A-Za-z0-9_]*) *= */.exec(raw);
  if (!head?.[1]) fail(line, raw.includes('=') ? `the text before '=' is not [export ]KEY with only spaces around it; ${keyRule}` : "no '=' in a line that is not blank or a comment");
  const key = head[1];
  c.pos += head[0].length;
  const first = c.text.charAt(c.pos);
  if (first === "'" || first === '"') {
    c.pos += 1;
    const inner = c.takeQuoted(first, line, first === "'" ? 'single quote' : 'double quote');
    const closeLine = c.line;
    if (!dotenvAfterQuote.test(c.takeLine())) fail(closeLine, "text after the closing quote that is not whitespace or a ' #' comment");
    return { key, value: first === "'" ? dotenvSingle(inner, line) : dotenvDouble(inner, line) };
  }
  if (first === '`') fail(line, 'a value starting with a backtick is quoted by npm dotenv and Node but not by python-dotenv');
  return { key, value: dotenvBare(c.takeLine(), line) };
}

/** Content of `'…'`: literal in npm and Node, but python-dotenv decodes `\\` and `\'`. */
function dotenvSingle(inner: string, line: number): string {
  // Why: a backslash pair or a backslash before the closing quote reads differently in python-dotenv.
  if (inner.includes('\\\\') || inner.endsWith('\\')) fail(line, 'a double or trailing backslash inside single quotes, which python-dotenv decodes and the others keep');
  if (interpolation.test(inner)) fail(line, 'a ${...} sequence, which python-dotenv expands even inside single quotes');
  return inner;
}

/** Content of `"…"`: only `\n` is decoded the same by all three readers. */
function dotenvDouble(inner: string, line: number): string {
  // Why: python-dotenv decodes many escapes, npm dotenv \n and \r, Node only \n; any other backslash would differ.
  if (/\\(?!n)/.test(inner)) fail(line, 'a backslash inside double quotes that is not \\n, which python-dotenv, npm dotenv and Node decode differently');
  if (interpolation.test(inner)) fail(line, 'a ${...} sequence inside double quotes, which python-dotenv would expand');
  return inner.replaceAll('\\n', '\n');
}

/** An unquoted value: up to a ` #` comment, trimmed. */
function dotenvBare(rest: string, line: number): string {
  // Why: npm and Node cut at any '#', python-dotenv only at whitespace + '#'; and they trim different whitespace.
  const hash = rest.indexOf('#');
  if (hash === 0) fail(line, 'an unquoted value starting with a hash sign, which is a comment for npm dotenv and Node but the value for python-dotenv');
  if (hash > 0 && rest[hash - 1] !== ' ' && rest[hash - 1] !== '\t') fail(line, 'a hash sign inside an unquoted value, which npm dotenv and Node treat as a comment and python-dotenv keeps');
  const value = (hash === -1 ? rest : rest.slice(0, hash)).replace(/ +$/, '');
  if (dotenvWhitespace.test(value.slice(0, 1)) || dotenvWhitespace.test(value.slice(-1))) {
    fail(line, 'an unquoted value with leading or trailing whitespace that python-dotenv, npm dotenv and Node trim differently');
  }
  if (interpolation.test(value)) fail(line, 'a ${...} sequence, which python-dotenv would expand');
  return value;
}

/** Characters a bare shell word may hold: nothing sh, bash or systemd interprets in an assignment. */
const shellSafe = /^(?:[A-Za-z0-9_@%+=:,./-]|[^\p{ASCII}\s\ufeff\u0085])*$/u;

/** One shell line: dash, bash (`set -a; . file`) and systemd EnvironmentFile= must agree on it. */
function shellLine(c: Cursor): Omit<Assignment, 'line'> | undefined {
  // Why: a single quoted or plain word per line is the subset on which sh and systemd's env-file parser agree.
  const line = c.line;
  const raw = c.peekLine();
  if (/^[ \t]*$/.test(raw)) return void c.takeLine();
  if (/^[ \t]*#/.test(raw)) {
    if (raw.endsWith('\\')) fail(line, 'a comment ending in a backslash, which systemd 252 continues onto the next line');
    return void c.takeLine();
  }
  if (/^[ \t]*export[ \t]/.test(raw)) fail(line, "an 'export' prefix, which systemd EnvironmentFile= does not understand (it would not set the key); set -a already exports");
  const head = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*)=/.exec(raw);
  if (!head?.[1]) fail(line, raw.includes('=') ? `the text before '=' is not a key directly followed by '='; ${keyRule}` : "no '=' in a line that is not blank or a comment");
  c.pos += head[0].length;
  const first = c.text.charAt(c.pos);
  let value: string;
  if (first === '"') {
    c.pos += 1;
    value = shellDouble(c, line);
  } else if (first === "'") {
    c.pos += 1;
    value = c.takeQuoted("'", line, 'single quote');
  } else {
    const word = /^[^ \t]*/.exec(c.peekLine())?.[0] ?? '';
    if (word.includes('\r')) fail(line, 'a carriage return outside quotes, which systemd reads as a line break');
    if (!shellSafe.test(word)) fail(line, 'an unquoted value with a character the shell interprets (quote, dollar, backtick, backslash, tilde, glob, brace or operator); quote it');
    c.pos += word.length;
    value = word;
  }
  const endLine = c.line;
  if (!/^[ \t]*$/.test(c.takeLine())) fail(endLine, 'text after the value; sh would run it as a command or join it, and systemd adds it to the value (no inline comments)');
  return { key: head[1], value };
}

/** Content of `"…"` under POSIX rules: `\` escapes only `\ " $` and backtick, and removes a following newline. */
function shellDouble(c: Cursor, openLine: number): string {
  // Why: sh and systemd unescape exactly these; an unescaped $ or backtick would be expanded by sh but kept by systemd.
  let value = '';
  for (;;) {
    const ch = c.text.charAt(c.pos);
    if (ch === '') fail(openLine, 'a double quote opened here is never closed');
    c.pos += 1;
    if (ch === '"') return value;
    if (ch === '$' || ch === '`') fail(c.line, 'an unescaped dollar sign or backtick inside double quotes, which the shell expands');
    if (ch === '\\') {
      const next = c.text.charAt(c.pos);
      if (next === '') fail(openLine, 'a double quote opened here is never closed');
      c.pos += 1;
      if (next === '\n') c.line += 1;
      else value += '\\"$`'.includes(next) ? next : `\\${next}`;
      continue;
    }
    if (ch === '\n') c.line += 1;
    value += ch;
  }
}

/** Longest line docker's bufio.Scanner accepts, without its newline. */
const dockerMaxLineBytes = 64 * 1024 - 1;

/** One docker --env-file line: `KEY=` then every character to the end of the line, verbatim. */
function dockerLine(c: Cursor): Omit<Assignment, 'line'> | undefined {
  // Why: docker does no quoting or trimming of values, only of the whitespace before the key.
  const line = c.line;
  const raw = c.takeLine();
  if (Buffer.byteLength(raw, 'utf8') > dockerMaxLineBytes) fail(line, 'a line longer than 64 KiB, which docker --env-file rejects');
  const text = raw.replace(/^[ \t]+/, '');
  if (text === '' || text.startsWith('#')) return undefined;
  const eq = text.indexOf('=');
  if (eq === -1) fail(line, "no '=', so docker would pass the variable through from its own environment");
  const key = text.slice(0, eq);
  if (!keyPattern.test(key)) fail(line, keyRule);
  return { key, value: text.slice(eq + 1) };
}
