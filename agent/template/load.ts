// Discovery and preparation of templates: every `*.hbs` in the templates directory, front matter read,
// the body parsed once, validated, rewritten for format-aware escaping and compiled (docs/templates.md).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import { prepareProgram } from './ast.js';
import type { Dependency } from './ast.js';
import { compileOptions, createEngine, helperNames } from './engine.js';
import { formatFromDestination } from './formats.js';
import type { Format } from './formats.js';
import { splitFrontMatter } from './front-matter.js';

/** A template ready to render; everything here is known before any secret is fetched. */
export interface Template {
  /** The file name in the templates directory (`app.env.hbs`): the template's identity in logs and metrics. */
  readonly name: string;
  /** The file's full path, used in error messages. */
  readonly file: string;
  /** Relative to the output directory. */
  readonly destination: string;
  readonly format: Format;
  readonly mode: number;
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
  readonly notify: readonly string[];
  readonly backend?: BackendName | undefined;
  readonly dependencies: readonly Dependency[];
  readonly lineOffset: number;
  readonly run: (context: object, options: object) => string;
}

const engine = createEngine();

/** Parse one template's source; `file` is how errors name it. */
export function prepareTemplate(file: string, name: string, source: string): Template {
  const { meta, body, lineOffset } = splitFrontMatter(file, source);
  let program;
  try {
    program = engine.parse(body);
  } catch (error) {
    throw parseError(file, lineOffset, error);
  }
  const dependencies = prepareProgram(program, { file, lineOffset, helpers: helperNames });
  const destination = meta.destination ?? name.replace(/\.hbs$/, '');
  return {
    name,
    file,
    destination,
    format: meta.format ?? formatFromDestination(destination),
    mode: meta.mode === undefined ? 0o600 : Number.parseInt(meta.mode, 8),
    uid: meta.uid,
    gid: meta.gid,
    notify: meta.notify ?? [],
    backend: meta.backend,
    dependencies,
    lineOffset,
    run: engine.compile(program, compileOptions),
  };
}

/** Every `*.hbs` directly in `dir`, sorted by name; hidden entries (Kubernetes' `..data`) are skipped. */
export async function discoverTemplates(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new AgentError('ERR_TEMPLATE_DIR', `templates directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: error, details: { templates: dir } });
  }
  const names = entries
    .filter((entry) => !entry.name.startsWith('.') && entry.name.endsWith('.hbs') && (entry.isFile() || entry.isSymbolicLink()))
    .map((entry) => entry.name)
    .sort();
  if (names.length === 0) throw new AgentError('ERR_TEMPLATE_DIR', `templates directory ${dir} holds no *.hbs file`, { details: { templates: dir } });
  return names;
}

export interface LoadResult {
  readonly templates: Template[];
  /** Templates that could not be prepared; the others still render. */
  readonly errors: AgentError[];
}

/** Load every template of `dir`; one broken template does not stop the others. */
export async function loadTemplates(dir: string): Promise<LoadResult> {
  const templates: Template[] = [];
  const errors: AgentError[] = [];
  for (const name of await discoverTemplates(dir)) {
    const file = join(dir, name);
    try {
      templates.push(prepareTemplate(file, name, await readFile(file, 'utf8')));
    } catch (error) {
      errors.push(error instanceof AgentError ? error : new AgentError('ERR_TEMPLATE_PARSE', `${file}: ${(error as Error).message}`, { cause: error, details: { template: file } }));
    }
  }
  return { templates, errors };
}

/** Handlebars' parser says "Parse error on line N:" relative to the body; report the file's line instead. */
function parseError(file: string, lineOffset: number, error: unknown): AgentError {
  const raw = error as Error & { lineNumber?: unknown };
  // Three shapes: jison's "Parse error on line N:", Handlebars' "x doesn't match y - L:C", or a lineNumber field.
  const found = /line (\d+)/.exec(raw.message)?.[1] ?? / - (\d+):\d+$/m.exec(raw.message)?.[1] ?? (typeof raw.lineNumber === 'number' ? String(raw.lineNumber) : undefined);
  const line = (found === undefined ? 1 : Number(found)) + lineOffset;
  const lines = raw.message.split('\n');
  const detail = (lines.find((part) => part.startsWith('Expecting')) ?? lines[0] ?? '').replace(/^Parse error on line \d+:\s*/, '').replace(/ - \d+:\d+$/, '');
  return new AgentError('ERR_TEMPLATE_PARSE', `${file}:${line}: not valid Handlebars: ${detail}`, { cause: error, details: { template: file, line } });
}
