// Read the config file: YAML or JSON, told apart by content. Errors name the file and the line/column, and
// never quote the file's text (it may hold a token). The parsed YAML document is kept to locate keys later.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { AgentError } from '../errors.js';

/** A parsed config file: its data, and a way to find where a key path sits in it (`line:column`). */
export interface ConfigFile {
  readonly path: string;
  readonly format: 'yaml' | 'json';
  readonly data: Record<string, unknown>;
  /** `line:column` of the key at `keyPath` (or of its nearest ancestor present in the file); undefined if unknown. */
  locate(keyPath: readonly (string | number)[]): string | undefined;
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'it does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

// Why: the file is the operator's, so every failure names it and says where, without repeating its content.
/** Read and parse the config file at the absolute `path`; throws AgentError('ERR_CONFIG_FILE'). */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = READ_ERRORS[code] ?? `read failed (${code || 'unknown error'})`;
    throw new AgentError('ERR_CONFIG_FILE', `cannot read config file ${path}: ${reason}`, { details: { file: path } });
  }
  text = text.replace(/^\uFEFF/, '');
  const format = /^\s*[{[]/.test(text) ? 'json' : 'yaml';
  const lines = new LineCounter();
  const schema = format === 'json' ? 'json' : 'core';
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, schema, merge: format === 'yaml' });
  const data = format === 'json' ? parseJson(path, text, lines, doc) : parseYaml(path, lines, doc);
  if (data === null || data === undefined) return fileOf(path, format, {}, lines, doc);
  if (typeof data !== 'object' || Array.isArray(data)) {
    const got = Array.isArray(data) ? 'a list' : `a ${typeof data}`;
    throw new AgentError('ERR_CONFIG_FILE', `config file ${path} must hold a mapping of keys (YAML) or an object (JSON), got ${got}`, { details: { file: path } });
  }
  return fileOf(path, format, data as Record<string, unknown>, lines, doc);
}

// Why: YAML errors carry positions; their messages are kept to the first line so no source text is quoted.
function parseYaml(path: string, lines: LineCounter, doc: Document): unknown {
  const first = doc.errors[0];
  if (first !== undefined) {
    const where = lines.linePos(first.pos[0]);
    const reason = (first.message.split('\n')[0] ?? '').replace(/:\s.*$/, '').replace(/^(Invalid escape sequence).*$/, '$1');
    throw new AgentError('ERR_CONFIG_FILE', `cannot parse config file ${path} as YAML at line ${where.line}, column ${where.col}: ${reason}`, {
      details: { file: path, line: where.line, column: where.col },
    });
  }
  return doc.toJS({ maxAliasCount: 100 });
}

// Why: JSON.parse is the strict JSON parser, but V8's message may quote the text, so only its position is used.
function parseJson(path: string, text: string, lines: LineCounter, doc: Document): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const position = /at position (\d+)/.exec(message)?.[1];
    const yamlError = doc.errors[0];
    const offset = position !== undefined ? Number(position) : yamlError?.pos[0];
    const where = offset === undefined ? '' : ` at line ${lines.linePos(offset).line}, column ${lines.linePos(offset).col}`;
    const reason = /^Unexpected end of JSON input/.test(message) ? 'the document ends too early' : jsonReason(message);
    throw new AgentError('ERR_CONFIG_FILE', `cannot parse config file ${path} as JSON${where}: ${reason}`, { details: { file: path } });
  }
}

// Why: V8 messages such as `Unexpected token 'x', "...text..." is not valid JSON` quote the file; keep only the safe head.
function jsonReason(message: string): string {
  const token = /^Unexpected token '(.)'/.exec(message);
  if (token) return `unexpected character '${token[1] ?? ''}'`;
  const head = /^(.*?) in JSON at position/.exec(message)?.[1];
  return head !== undefined && !head.includes('"') ? head.charAt(0).toLowerCase() + head.slice(1) : 'invalid JSON';
}

// Why: problems found by the schema point at the key's line, which only the parsed YAML document knows.
function fileOf(path: string, format: 'yaml' | 'json', data: Record<string, unknown>, lines: LineCounter, doc: Document): ConfigFile {
  const usable = doc.errors.length === 0;
  return {
    path,
    format,
    data,
    locate(keyPath) {
      if (!usable) return undefined;
      for (let depth = keyPath.length; depth > 0; depth -= 1) {
        const parent = depth === 1 ? doc.contents : doc.getIn(keyPath.slice(0, depth - 1), true);
        const key = keyPath[depth - 1];
        let offset: number | undefined;
        if (isMap(parent)) {
          const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
          offset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
        } else if (isSeq(parent) && typeof key === 'number') {
          const item: unknown = parent.items[key];
          offset = isScalar(item) || isMap(item) || isSeq(item) ? item.range?.[0] : undefined;
        }
        if (offset !== undefined) {
          const pos = lines.linePos(offset);
          return `${pos.line}:${pos.col}`;
        }
      }
      return undefined;
    },
  };
}
