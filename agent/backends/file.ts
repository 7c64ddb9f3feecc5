// The file backend: one YAML or JSON document nested by path segments (`exchange: {binance: {api_key: …}}`).
// It is the quickstart's default and the simplest way to run the agent without Vault or AWS.
import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { AgentError } from '../errors.js';
import type { Backend, Outcome, SecretRef } from './backend.js';

type Snapshot = { key: string; doc: unknown };

/** What each YAML parse error means, in words that quote nothing of the file (its values are secrets). */
const YAML_PROBLEMS: Readonly<Record<string, string>> = {
  MISSING_CHAR: 'a closing quote or bracket is missing',
  DUPLICATE_KEY: 'a key appears twice in one mapping',
  BAD_INDENT: 'the indentation is inconsistent',
  MULTILINE_IMPLICIT_KEY: 'a key spans several lines (is a colon missing, or a quote unclosed?)',
  BLOCK_AS_IMPLICIT_KEY: 'a block is used as a key',
  TAB_AS_INDENT: 'a tab is used for indentation (YAML indents with spaces)',
  UNEXPECTED_TOKEN: 'unexpected characters',
  BAD_SCALAR_START: 'a value starts with a character YAML reserves (quote it)',
};

export class FileBackend implements Backend {
  readonly name = 'file' as const;
  readonly #path: string;
  #snapshot: Snapshot | undefined;

  constructor(options: { path: string }) {
    this.#path = options.path;
  }

  /** Look a reference up in the current document; the file is re-read only when it changed on disk. */
  async fetch(ref: SecretRef): Promise<Outcome> {
    let doc: unknown;
    try {
      doc = await this.#load();
    } catch (error) {
      return { status: 'unavailable', reason: (error as Error).message };
    }
    const node = walk(doc, ref.path.split('/'));
    if (node === undefined || node === null) return { status: 'not_found' };
    if (ref.kind === 'value') {
      if (isScalar(node)) return { status: 'found', data: String(node) };
      throw new AgentError('ERR_BACKEND_DATA', `file backend: ${this.#path}: "${ref.path}" is a map, not a value; ask for one of its keys`, { details: { path: ref.path, backend: 'file' } });
    }
    if (!isRecord(node)) {
      throw new AgentError('ERR_BACKEND_DATA', `file backend: ${this.#path}: "${ref.path}" is a value, not a map of keys`, { details: { path: ref.path, backend: 'file' } });
    }
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(node)) if (isScalar(value)) data[key] = String(value);
    return { status: 'found', data };
  }

  async isAvailable(): Promise<boolean> {
    try {
      await this.#load();
      return true;
    } catch {
      return false;
    }
  }

  /** Parse the file again only when its identity (inode, size, mtime) changed, so a cycle costs one stat per path. */
  async #load(): Promise<unknown> {
    const info = await stat(this.#path).catch((error: unknown) => {
      throw new Error(`cannot read ${this.#path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    });
    const key = `${info.ino}:${info.size}:${info.mtimeMs}`;
    if (this.#snapshot?.key === key) return this.#snapshot.doc;
    const text = await readFile(this.#path, 'utf8');
    // parseDocument keeps errors with line positions; the messages quote no source text when prettyErrors is off.
    const parsed = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    const first = parsed.errors[0];
    if (first) {
      // Why our own position: with prettyErrors off the parser gives offsets only, and its messages may quote values.
      const before = text.slice(0, first.pos[0]);
      const line = before.split('\n').length;
      const column = first.pos[0] - before.lastIndexOf('\n');
      throw new Error(`cannot parse ${this.#path}:${line}:${column}: ${YAML_PROBLEMS[first.code] ?? first.code.toLowerCase().replace(/_/g, ' ')} (${first.code})`);
    }
    const doc: unknown = parsed.toJS();
    this.#snapshot = { key, doc };
    return doc;
  }
}

function walk(doc: unknown, segments: readonly string[]): unknown {
  let node = doc;
  for (const segment of segments) {
    if (!isRecord(node) || !Object.hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean | bigint {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint';
}
