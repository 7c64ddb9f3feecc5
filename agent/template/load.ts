// Discovery and preparation of templates: every `*.hbs` in the templates directory, front matter read,
// the body parsed once, validated, rewritten for format-aware escaping and compiled (docs/templates.md).
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import { prepareProgram } from './ast.js';
import type { Dependency } from './ast.js';
import { compileOptions, createEngine, helperNames } from './engine.js';
import { formatFromDestination } from './formats.js';
import type { Format } from './formats.js';
import { splitFrontMatter } from './front-matter.js';
import { checkTemplateSize, MAX_TEMPLATE_BYTES, scanTemplate } from './limits.js';
import type { OpenBlock } from './limits.js';
import { Planner, runPlan } from './plan.js';
import type { Helpers, Plan, Run } from './plan.js';
import { Preparer } from './preparer.js';

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
  /** Written together with the other templates of this set, as one generation (agent/write/set.ts). */
  readonly set?: string | undefined;
  readonly dependencies: readonly Dependency[];
  readonly lineOffset: number;
  readonly run: (context: object, options: object) => string;
}

const engine = createEngine();

/** A template without its compiled function: what a worker thread can hand back (see prepare-worker.ts). */
export type TemplateInfo = Omit<Template, 'run'>;

/** The helpers a plan calls itself: our own table, each counted (engine.ts); never the block builtins. */
const interpreted: ReadonlySet<string> = new Set(helperNames);

/**
 * Chunks are compiled from the AST the parse already stripped of whitespace (and stripped once more, as Handlebars'
 * compile of a whole program would): standalone-line stripping must not run again on a chunk, whose first statement
 * would look like the start of a file.
 */
const chunkCompileOptions = { ...compileOptions, ignoreStandalone: true };

/** Check, parse, validate and rewrite one template's source, and plan its render; `file` is how errors name it. */
function prepareParts(file: string, name: string, source: string): { info: TemplateInfo; plan: Plan<hbs.AST.Program> } {
  // Bounded before parsing (docs/templates.md "Limits"): Handlebars is synchronous and super-linear on nesting.
  checkTemplateSize(file, Buffer.byteLength(source, 'utf8'));
  const { meta, body, lineOffset } = splitFrontMatter(file, source);
  const { unclosed, splits } = scanTemplate(file, body, lineOffset);
  const destination = meta.destination ?? name.replace(/\.hbs$/, '');
  const format = meta.format ?? formatFromDestination(destination);
  const planner = new Planner({ file, lineOffset, interpreted });
  const dependencies: Dependency[] = [];
  // A large body is parsed in pieces (limits.ts scanTemplate): only one piece's syntax tree is alive at a time.
  let from = 0;
  let line = 1;
  for (const to of [...splits, body.length]) {
    // Blank lines before a piece put it where it stands: Handlebars numbers its lines as in the file and reads the
    // start of its first line as it would there (after a newline); they are taken off its first text once prepared.
    const padding = line - 1;
    let program;
    try {
      program = engine.parse('\n'.repeat(padding) + body.slice(from, to));
    } catch (error) {
      throw parseError(file, lineOffset, error, unclosed);
    }
    for (const dependency of prepareProgram(program, { file, lineOffset, format, helpers: helperNames })) dependencies.push(dependency);
    // Handlebars' compile strips whitespace again on an already parsed program; done here, once, before planning.
    (engine.parse as unknown as (input: hbs.AST.Program) => hbs.AST.Program)(program);
    dropPadding(program, padding);
    planner.add(program);
    line += countLines(body, from, to);
    from = to;
  }
  const info: TemplateInfo = {
    name,
    file,
    destination,
    format,
    mode: meta.mode === undefined ? 0o600 : Number.parseInt(meta.mode, 8),
    uid: meta.uid,
    gid: meta.gid,
    notify: meta.notify ?? [],
    backend: meta.backend,
    ...(meta.set === undefined ? {} : { set: meta.set }),
    dependencies,
    lineOffset,
  };
  return { info, plan: planner.finish() };
}

/** Line breaks in `text` from `from` to `to`, counted as Handlebars' lexer counts them (CR LF, CR or LF). */
function countLines(text: string, from: number, to: number): number {
  const breaks = /\r\n?|\n/g;
  breaks.lastIndex = from;
  let count = 0;
  for (let found = breaks.exec(text); found !== null && found.index < to; found = breaks.exec(text)) count += 1;
  return count;
}

/** Takes the blank lines put before a piece off its first text, which starts with them untouched. */
function dropPadding(program: hbs.AST.Program, padding: number): void {
  if (padding === 0) return;
  const first = program.body[0] as hbs.AST.ContentStatement | undefined;
  const lines = '\n'.repeat(padding);
  if (first?.type !== 'ContentStatement' || !first.value.startsWith(lines)) throw new Error('template piece: its first text lost the blank lines put before it');
  first.value = first.value.slice(padding);
}

/** Parse one template's source, on the calling thread; `file` is how errors name it. */
export function prepareTemplate(file: string, name: string, source: string): Template {
  const { info, plan } = prepareParts(file, name, source);
  return withRun(info, { ...plan, chunks: plan.chunks.map((chunk) => engine.compile(chunk, chunkCompileOptions)) });
}

/** Everything `prepareTemplate` does, with each chunk precompiled to source text a worker thread can send back. */
export function precompileTemplate(file: string, name: string, source: string): { info: TemplateInfo; plan: Plan<string> } {
  const { info, plan } = prepareParts(file, name, source);
  return { info, plan: { ...plan, chunks: plan.chunks.map((chunk) => engine.precompile(chunk, { ...chunkCompileOptions }) as unknown as string) } };
}

/** The template of a precompiled plan: evaluating its chunks is cheap, compiling them was the expensive part. */
export function templateFromSpec(info: TemplateInfo, plan: Plan<string>): Template {
  return withRun(info, { ...plan, chunks: plan.chunks.map((spec) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the spec is Handlebars' own output for our template, which Handlebars would evaluate the same way.
    const evaluate = new Function(`return (${spec});`) as () => TemplateSpecification;
    return engine.template(evaluate());
  }) });
}

function withRun(info: TemplateInfo, plan: Plan<Run>): Template {
  return { ...info, run: (context, options) => runPlan(plan, engine.helpers as Helpers, context, options) };
}

type TemplateSpecification = Parameters<typeof engine.template>[0];

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

/** Load every template of `dir`; one broken template does not stop the others. Parsing runs on a worker thread. */
export async function loadTemplates(dir: string): Promise<LoadResult> {
  const templates: Template[] = [];
  const errors: AgentError[] = [];
  const names = await discoverTemplates(dir);
  const preparer = new Preparer({ local: prepareTemplate, fromSpec: templateFromSpec });
  try {
    for (const name of names) {
      const file = join(dir, name);
      try {
        templates.push(await preparer.prepare(file, name, await readTemplate(file)));
      } catch (error) {
        errors.push(error instanceof AgentError ? error : new AgentError('ERR_TEMPLATE_PARSE', `${file}: ${(error as Error).message}`, { cause: error, details: { template: file } }));
      }
    }
  } finally {
    await preparer.close();
  }
  return { templates, errors };
}

/** The file's text; a file over the size limit is refused from its size, and never read past the limit. */
async function readTemplate(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    checkTemplateSize(file, (await handle.stat()).size);
    // Read at most one byte past the limit, so a file that grows after the stat is still bounded.
    const buffer = Buffer.alloc(MAX_TEMPLATE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    checkTemplateSize(file, length);
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

/** Handlebars' parser says "Parse error on line N:" relative to the body; report the file's line instead. */
function parseError(file: string, lineOffset: number, error: unknown, unclosed?: OpenBlock): AgentError {
  const raw = error as Error & { lineNumber?: unknown };
  // jison reports a block left open at the end of the file, with its token list; the opening line is what helps.
  if (unclosed !== undefined && /got 'EOF'/.test(raw.message)) {
    const name = unclosed.helper === '' ? 'block' : unclosed.helper;
    return new AgentError('ERR_TEMPLATE_PARSE', `${file}:${unclosed.line}: {{#${name}}} opened on line ${unclosed.line} is never closed: add {{/${name}}} where the block ends`, { cause: error, details: { template: file, line: unclosed.line } });
  }
  // Three shapes: jison's "Parse error on line N:", Handlebars' "x doesn't match y - L:C", or a lineNumber field.
  const found = /line (\d+)/.exec(raw.message)?.[1] ?? / - (\d+):\d+$/m.exec(raw.message)?.[1] ?? (typeof raw.lineNumber === 'number' ? String(raw.lineNumber) : undefined);
  const line = (found === undefined ? 1 : Number(found)) + lineOffset;
  const lines = raw.message.split('\n');
  const detail = (lines.find((part) => part.startsWith('Expecting')) ?? lines[0] ?? '').replace(/^Parse error on line \d+:\s*/, '').replace(/ - \d+:\d+$/, '');
  return new AgentError('ERR_TEMPLATE_PARSE', `${file}:${line}: not valid Handlebars: ${detail}`, { cause: error, details: { template: file, line } });
}
