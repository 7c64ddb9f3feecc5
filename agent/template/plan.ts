// How a prepared template renders (docs/templates.md "Limits"): Handlebars compiles a template into one JavaScript
// function whose size grows with its expressions, and that function costs about 36 KiB of memory per reference to
// compile and run (50,000 references: 1.5 GiB, seconds of V8 work on the event loop). Most references sit at the
// top level of a template as a helper call with literal arguments (`KEY={{secret "a/b"}}`); those need no compiled
// code at all: the plan calls the same registered helpers with the same arguments and options Handlebars would.
// Everything else (blocks, lookups in the context) is compiled by Handlebars in chunks of a few statements, so no
// compiled function grows with the template. The top-level statements of a template are independent (the context
// is the same empty object for each), so concatenating their outputs in order is the template's output.
import { limitError, MAX_CHUNK_EXPRESSIONS, MAX_COMPILED_EXPRESSIONS } from './limits.js';
import { PlanWriter } from './plan-code.js';
import type { Argument, Call, Plan } from './plan-code.js';

export { countSegments, runPlan } from './plan-code.js';
export type { Helpers, Plan, Run } from './plan-code.js';

/**
 * Splits prepared programs (validated, rewritten and whitespace-stripped), one or several pieces of one template in
 * order, into text, calls and compiled chunks; `interpreted` are the helpers the plan may call itself (our own table,
 * never the block builtins). Refuses a template whose compiled part is over MAX_COMPILED_EXPRESSIONS, naming the line
 * of the statement that crosses it.
 */
export class Planner {
  readonly #writer = new PlanWriter();
  readonly #chunks: hbs.AST.Program[] = [];
  #text = '';
  #chunk: hbs.AST.Statement[] = [];
  #chunkExpressions = 0;
  #compiled = 0;

  constructor(private readonly options: { file: string; lineOffset: number; interpreted: ReadonlySet<string> }) {}

  /** Plan the statements of `program`, after those of the programs added before it. */
  add(program: hbs.AST.Program): void {
    for (const statement of program.body) {
      if (statement.type === 'ContentStatement' && this.#chunk.length === 0) {
        this.#text += (statement as hbs.AST.ContentStatement).value;
        continue;
      }
      if (statement.type === 'CommentStatement') {
        // Handlebars writes nothing for a comment, but inside a chunk it stays: the chunk's compile applies `~` again,
        // and without it `a {{! c }}{{~x}}` would strip `a `'s space, which the comment shields.
        if (this.#chunk.length > 0) this.#chunk.push(statement);
        continue;
      }
      const call = statement.type === 'MustacheStatement' ? simpleCall(statement as hbs.AST.MustacheStatement, this.options.interpreted) : undefined;
      if (call !== undefined) {
        this.#flushChunk();
        this.#flushText();
        this.#writer.call(call);
        continue;
      }
      if (statement.type === 'ContentStatement') {
        // Text between compiled statements stays in their chunk: fewer, larger chunks.
        this.#chunk.push(statement);
        continue;
      }
      this.#flushText();
      const expressions = countExpressions(statement, false);
      this.#compiled += expressions;
      if (this.#compiled > MAX_COMPILED_EXPRESSIONS) {
        throw limitError(this.options.file, statement.loc.start.line + this.options.lineOffset, `more than ${MAX_COMPILED_EXPRESSIONS} expressions in blocks or reading the context (only top-level {{helper "literal"}} calls are not counted); split the template`);
      }
      if (this.#chunkExpressions > 0 && this.#chunkExpressions + expressions > MAX_CHUNK_EXPRESSIONS) this.#flushChunk();
      this.#chunk.push(statement);
      this.#chunkExpressions += expressions;
    }
    // A chunk never spans pieces: each piece's syntax tree is dropped once planned, except for its chunks.
    this.#flushChunk();
  }

  /** The plan of everything added. */
  finish(): Plan<hbs.AST.Program> {
    this.#flushChunk();
    this.#flushText();
    return this.#writer.finish(this.#chunks);
  }

  #flushText(): void {
    if (this.#text !== '') this.#writer.text(this.#text);
    this.#text = '';
  }

  #flushChunk(): void {
    if (this.#chunk.length === 0) return;
    this.#flushText();
    this.#writer.chunk(this.#chunks.length);
    this.#chunks.push(programOf(this.#chunk));
    this.#chunk = [];
    this.#chunkExpressions = 0;
  }
}

/** The plan of one whole program. */
export function planProgram(program: hbs.AST.Program, options: { file: string; lineOffset: number; interpreted: ReadonlySet<string> }): Plan<hbs.AST.Program> {
  const planner = new Planner(options);
  planner.add(program);
  return planner.finish();
}

/** A program of some top-level statements, for Handlebars to compile on its own. */
function programOf(body: hbs.AST.Statement[]): hbs.AST.Program {
  const first = body[0];
  const last = body.at(-1);
  const loc = first && last ? { source: first.loc.source, start: first.loc.start, end: last.loc.end } : undefined;
  return { type: 'Program', body, blockParams: [], strip: {}, loc } as unknown as hbs.AST.Program;
}

/**
 * The call of a rewritten top-level `{{__enc (helper "literal" …) "label"}}` when every part of it is a call of an
 * interpreted helper or a literal; undefined when Handlebars must compile it (a path, a data variable, a builtin).
 */
function simpleCall(mustache: hbs.AST.MustacheStatement, interpreted: ReadonlySet<string>): Call | undefined {
  // The rewrite (ast.ts) made every output mustache an unescaped call of __enc or __raw with parameters.
  if (mustache.escaped || mustache.params.length === 0) return undefined;
  return callOf(mustache, interpreted);
}

function callOf(node: hbs.AST.MustacheStatement | hbs.AST.SubExpression, interpreted: ReadonlySet<string>): Call | undefined {
  if (node.path.type !== 'PathExpression') return undefined;
  const path = node.path as hbs.AST.PathExpression;
  // `{{./secret}}`, `{{@secret}}`, `{{this.secret}}` are lookups, not helper calls.
  if (path.data || path.depth !== 0 || path.parts.length !== 1 || path.original !== path.parts[0] || !interpreted.has(path.original)) return undefined;
  const params: Argument[] = [];
  for (const param of node.params) {
    const argument = argumentOf(param, interpreted);
    if (argument === undefined) return undefined;
    params.push(argument);
  }
  const hash: Array<readonly [string, Argument]> = [];
  for (const pair of (node.hash as hbs.AST.Hash | undefined)?.pairs ?? []) {
    const argument = argumentOf(pair.value, interpreted);
    if (argument === undefined) return undefined;
    hash.push([pair.key, argument]);
  }
  const { start, end } = node.loc;
  return { helper: path.original, params, hash, loc: [start.line, start.column, end.line, end.column] };
}

function argumentOf(node: hbs.AST.Expression, interpreted: ReadonlySet<string>): Argument | undefined {
  switch (node.type) {
    case 'StringLiteral':
      return (node as hbs.AST.StringLiteral).value;
    case 'NumberLiteral':
      return (node as hbs.AST.NumberLiteral).value;
    case 'BooleanLiteral':
      return (node as hbs.AST.BooleanLiteral).value;
    case 'SubExpression':
      return callOf(node as hbs.AST.SubExpression, interpreted);
    default:
      return undefined;
  }
}

/**
 * What a statement costs Handlebars to compile, in expressions: every `{{…}}` tag (a block's open, `{{else}}` and
 * close tags included, as the scan of limits.ts counts them) and every sub-expression `( … )` inside one.
 */
function countExpressions(node: hbs.AST.Node, chained: boolean): number {
  switch (node.type) {
    case 'MustacheStatement': {
      const mustache = node as hbs.AST.MustacheStatement;
      // The rewrite wrapped the template's own call in a sub-expression: that one is the tag, not an extra.
      return 1 + mustache.params.reduce((n, param) => n + subExpressions(param, param === mustache.params[0]), 0) + hashExpressions(mustache.hash);
    }
    case 'BlockStatement': {
      const block = node as hbs.AST.BlockStatement;
      const inverse = block.inverse as hbs.AST.Program | undefined;
      const chain = (inverse as { chained?: boolean } | undefined)?.chained === true;
      let n = 1 + (chained ? 0 : 1) + block.params.reduce((sum, param) => sum + subExpressions(param, false), 0) + hashExpressions(block.hash);
      for (const statement of (block.program as hbs.AST.Program | undefined)?.body ?? []) n += countExpressions(statement, false);
      if (inverse) {
        // `{{else}}` is a tag; `{{else if x}}` is the nested block's own open tag, and the chain shares one close tag.
        if ((block.program as hbs.AST.Program | undefined) !== undefined && !chain) n += 1;
        for (const statement of inverse.body) n += countExpressions(statement, chain);
      }
      return n;
    }
    default:
      return 0;
  }
}

function subExpressions(node: hbs.AST.Expression, wrapped: boolean): number {
  if (node.type !== 'SubExpression') return 0;
  const sub = node as hbs.AST.SubExpression;
  return (wrapped ? 0 : 1) + sub.params.reduce((n, param) => n + subExpressions(param, false), 0) + hashExpressions(sub.hash);
}

function hashExpressions(hash: hbs.AST.Hash | undefined): number {
  return (hash?.pairs ?? []).reduce((n, pair) => n + subExpressions(pair.value, false), 0);
}
