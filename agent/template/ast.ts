// One walk over a parsed template does three things before anything is fetched: refuse constructs we do
// not support (partials, decorators, unknown helpers), read the static dependencies (secret paths must
// be string literals), and rewrite every escaped `{{x}}` into `{{__enc x "label"}}` so the value goes
// through the format's encoder instead of Handlebars' HTML escaping (docs/templates.md).
import { invalidPathReason } from '../backends/backend.js';
import type { BackendName } from '../backends/backend.js';
import { BACKEND_NAMES } from '../backends/names.js';
import { AgentError } from '../errors.js';
import { callIdentity } from '../dynamic/identity.js';
import type { CallParam, VaultCall } from '../dynamic/identity.js';
import type { Format } from './formats.js';

export type DependencyHelper = 'secret' | 'secrets' | 'exchange' | 'env' | 'vault';

/** A secret (or environment variable) a template reads, known before rendering. */
export interface Dependency {
  readonly helper: DependencyHelper;
  /** The secret path (`exchange/binance/api_key`), the exchange's path (`exchange/binance`), or the variable name. */
  readonly path: string;
  readonly backend?: BackendName | undefined;
  readonly hasDefault: boolean;
  /** The template file's line. */
  readonly line: number;
  /** A `vault` helper call (its `path` is then the call's identity, `PUT pki/issue/x common_name="a"`). */
  readonly call?: VaultCall | undefined;
  /** `version="previous"` on `secret`/`secrets`: the version before the current one (a request of its own). */
  readonly version?: 'previous' | undefined;
}

export const ENCODE_HELPER = '__enc';
export const RAW_HELPER = '__raw';
const dependencyHelpers: ReadonlySet<string> = new Set(['secret', 'secrets', 'exchange', 'env', 'vault']);
const builtinHelpers = ['if', 'unless', 'each', 'with', 'lookup'] as const;
/** The arguments each builtin takes: `{{#if x}}`, `{{lookup map "key"}}`. */
const builtinArity: ReadonlyMap<string, number> = new Map([['if', 1], ['unless', 1], ['each', 1], ['with', 1], ['lookup', 2]]);
const backendNames: ReadonlySet<string> = new Set<string>(BACKEND_NAMES);

interface WalkContext {
  readonly file: string;
  readonly lineOffset: number;
  readonly format: Format;
  readonly helpers: ReadonlySet<string>;
  readonly dependencies: Dependency[];
}

type Call = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;

/** Validate and rewrite `program` in place; returns its dependencies in source order. */
export function prepareProgram(program: hbs.AST.Program, options: { file: string; lineOffset: number; format: Format; helpers: readonly string[] }): Dependency[] {
  const context: WalkContext = {
    file: options.file,
    lineOffset: options.lineOffset,
    format: options.format,
    helpers: new Set([...options.helpers, ...builtinHelpers]),
    dependencies: [],
  };
  walkProgram(program, context);
  return context.dependencies;
}

function walkProgram(program: hbs.AST.Program | undefined, context: WalkContext): void {
  const body = program?.body ?? [];
  body.forEach((statement, index) => {
    if (statement.type === 'MustacheStatement') refuseQuoted(statement as hbs.AST.MustacheStatement, body[index - 1], body[index + 1], context);
    walkStatement(statement, context);
  });
}

/** Quote characters a template could wrap a `{{x}}` in, per format; raw writes values as they are, so none. */
const wrappingQuotes: Readonly<Record<Format, string>> = { dotenv: `'"\``, shell: `'"`, docker: `'"`, json: `'"`, yaml: `'"`, raw: '' };

/** Helpers whose output is never quoted: `envName` writes only [A-Z0-9_], `docker` writes the value verbatim. */
const unquotedHelpers: ReadonlySet<string> = new Set(['envName', 'docker']);

/**
 * `KEY="{{x}}"`, `k: '{{x}}'`, `"k": "{{x}}"`: `{{x}}` already writes a complete literal with its own quoting
 * (docker: the value verbatim, and docker keeps quotes), so quotes the template writes around it would be read as
 * part of the value (docs/templates.md "Quotes"). Seen here, before anything is fetched, so `check` reports it too.
 */
function refuseQuoted(mustache: hbs.AST.MustacheStatement, before: hbs.AST.Statement | undefined, after: hbs.AST.Statement | undefined, context: WalkContext): void {
  const quotes = wrappingQuotes[context.format];
  if (!mustache.escaped || quotes === '') return;
  const name = helperName(mustache, context);
  if (name !== undefined && unquotedHelpers.has(name) && !(name === 'docker' && context.format === 'docker')) return;
  const left = before?.type === 'ContentStatement' ? (before as hbs.AST.ContentStatement).value.slice(-1) : '';
  const right = after?.type === 'ContentStatement' ? (after as hbs.AST.ContentStatement).value.slice(0, 1) : '';
  if (left === '' || left !== right || !quotes.includes(left)) return;
  const line = lineOf(mustache, context);
  throw new AgentError('ERR_TEMPLATE_QUOTED', `${context.file}:${line}: {{${describeCall(mustache)}}} is wrapped in ${left} quotes the template wrote; ${quotedAdvice(context.format)}`, {
    details: { template: context.file, line },
  });
}

/** The advice of a quoted `{{x}}`: drop the quotes, with why for the format. */
export function quotedAdvice(format: Format): string {
  // Why: the same words for the static refusal here and the one at render (render.ts), so both read as one rule.
  const why = format === 'docker'
    ? 'docker --env-file has no quoting and would keep the quotes as part of the value'
    : `it writes one complete ${format} literal, and quotes around it would be read as part of the value`;
  const example = format === 'json' ? '"key": {{x}}' : format === 'yaml' ? 'key: {{x}}' : 'KEY={{x}}';
  return `drop the quotes: {{x}} quotes itself (${why}); write ${example}, with nothing else in the value`;
}

function walkStatement(node: hbs.AST.Statement, context: WalkContext): void {
  switch (node.type) {
    case 'MustacheStatement': {
      const mustache = node as hbs.AST.MustacheStatement;
      walkCall(mustache, context);
      rewriteOutput(mustache, context);
      return;
    }
    case 'BlockStatement': {
      const block = node as hbs.AST.BlockStatement;
      walkCall(block, context);
      refuseValueBlock(block, context);
      walkProgram(block.program, context);
      walkProgram(block.inverse, context);
      return;
    }
    case 'ContentStatement':
    case 'CommentStatement':
      return;
    default:
      // PartialStatement, PartialBlockStatement, Decorator, DecoratorBlock: templates are self-contained.
      throw fail(context, node, 'ERR_TEMPLATE_PARSE', `${describeNode(node.type)} are not supported; a template must be self-contained`);
  }
}

/** The helpers that take a block; every other helper returns a value. */
const blockHelpers: ReadonlySet<string> = new Set(['if', 'unless', 'each', 'with']);

/**
 * `{{#secret "a/b"}}{{/secret}}` (or `{{^…}}`, `{{{{…}}}}`, `{{else secret …}}`): Handlebars appends a block helper's
 * return value as it is, so the value would skip the format's encoder, and the placeholder render of the validator
 * (which replaces only what reaches the encoders) would hold the real value too: a value that adds a key would pass.
 */
function refuseValueBlock(block: hbs.AST.BlockStatement, context: WalkContext): void {
  const name = helperName(block, context);
  if (name === undefined || blockHelpers.has(name)) return;
  throw fail(context, block, 'ERR_TEMPLATE_PARSE', `{{#${name}}} is not a block helper: only ${[...blockHelpers].join(', ')} take a block; write {{${name} ...}} to write its value`);
}

function walkCall(call: Call, context: WalkContext): void {
  if (call.path.type === 'PathExpression') refusePrototypePath(call.path as hbs.AST.PathExpression, context);
  // `("x")`, `{{#12}}`, `{{"x" "y"}}`: Handlebars calls a helper named by the literal, which is never known; its compile
  // is lazy, so without this the error came at the first render (or, on the worker, at load), and the rewrite below
  // would have dropped the arguments of `{{"x" "y"}}`.
  else if (call.type !== 'MustacheStatement' || call.params.length > 0 || pairsOf(call).length > 0) {
    throw fail(context, call, 'ERR_TEMPLATE_PARSE', `a literal is not a helper: ${describeCall(call)} calls nothing; write the literal alone, or a helper's name first`);
  }
  const name = helperName(call, context);
  const key = call.params[1];
  if (name === 'lookup' && key?.type === 'StringLiteral') refusePrototypeName((key as hbs.AST.StringLiteral).value, key, context);
  if (name !== undefined) {
    if (!context.helpers.has(name)) {
      throw fail(context, call, 'ERR_TEMPLATE_PARSE', `unknown helper "${name}" - valid helpers are ${[...context.helpers].filter((h) => !h.startsWith('__')).join(', ')}`);
    }
    // Why here: at render Handlebars says "options.fn is not a function" or "#if requires exactly one argument" (or
    // fails inside lookup), with no line.
    if (blockHelpers.has(name) && call.type !== 'BlockStatement') throw fail(context, call, 'ERR_TEMPLATE_PARSE', `${name} takes a block: write {{#${name} ...}}...{{/${name}}}`);
    const arity = builtinArity.get(name);
    if (arity !== undefined && call.params.length !== arity) throw fail(context, call, 'ERR_TEMPLATE_PARSE', `${name} takes exactly ${arity === 1 ? 'one argument' : 'two arguments'}`);
    if (dependencyHelpers.has(name)) context.dependencies.push(readDependency(name as DependencyHelper, call, context));
  }
  for (const param of call.params) walkExpression(param, context);
  for (const pair of pairsOf(call)) walkExpression(pair.value, context);
}

/** Handlebars leaves `hash` undefined when a call has none, whatever its type declarations say. */
function pairsOf(call: Call): hbs.AST.HashPair[] {
  return (call.hash as hbs.AST.Hash | undefined)?.pairs ?? [];
}

function walkExpression(node: hbs.AST.Expression, context: WalkContext): void {
  if (node.type === 'SubExpression') walkCall(node as hbs.AST.SubExpression, context);
  if (node.type === 'PathExpression') refusePrototypePath(node as hbs.AST.PathExpression, context);
}

/** Names of the object prototype that lead to functions and constructors; Handlebars already hides them at runtime. */
const prototypeNames: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

function refusePrototypePath(path: hbs.AST.PathExpression, context: WalkContext): void {
  for (const part of path.parts) refusePrototypeName(part, path, context);
}

/**
 * `{{constructor.constructor}}`, `{{lookup this "__proto__"}}`: never reachable (docs/templates.md "Hostile
 * templates"), and refused when the template is loaded so the error names the line (at runtime Handlebars' own
 * protection would surface as a TypeError without one).
 */
function refusePrototypeName(name: string, node: hbs.AST.Node, context: WalkContext): void {
  if (prototypeNames.has(name)) throw fail(context, node, 'ERR_TEMPLATE_PARSE', `"${name}" is a prototype property, which templates can never reach`);
}

/** The helper a call invokes, or undefined when it is a plain lookup such as `{{name}}` or `{{this}}`. */
function helperName(call: Call, context: WalkContext): string | undefined {
  if (call.path.type !== 'PathExpression') return undefined;
  const path = call.path as hbs.AST.PathExpression;
  const isCall = call.type !== 'MustacheStatement' || call.params.length > 0 || pairsOf(call).length > 0;
  const simple = !path.data && path.depth === 0 && path.parts.length === 1;
  if (simple && (isCall || context.helpers.has(path.original))) return path.original;
  return isCall ? path.original : undefined;
}

function readDependency(helper: DependencyHelper, call: Call, context: WalkContext): Dependency {
  if (helper === 'vault') return readVaultCall(call, context);
  const first = call.params[0];
  if (first?.type !== 'StringLiteral' || call.params.length !== 1) {
    throw fail(context, call, 'ERR_TEMPLATE_DYNAMIC_PATH', `${helper} takes exactly one string literal (such as ${helper} "${example(helper)}") so its dependency is known before rendering`);
  }
  const literal = (first as hbs.AST.StringLiteral).value;
  const path = helper === 'exchange' ? `exchange/${literal}` : literal;
  const reason = helper === 'env' ? envNameReason(literal) : invalidPathReason(path);
  if (reason !== undefined) throw fail(context, call, 'ERR_TEMPLATE_PARSE', `${helper} "${literal}": ${reason}`);
  let backend: BackendName | undefined;
  let hasDefault = false;
  let version: 'previous' | undefined;
  const allowed = helper === 'secret' ? ['default', 'backend', 'version'] : helper === 'env' ? ['default'] : helper === 'secrets' ? ['backend', 'version'] : ['backend'];
  for (const pair of pairsOf(call)) {
    if (!allowed.includes(pair.key)) throw fail(context, call, 'ERR_TEMPLATE_PARSE', `${helper} does not take ${pair.key}= - it takes ${allowed.map((k) => `${k}=`).join(', ')}`);
    if (pair.key === 'default') hasDefault = true;
    if (pair.key === 'version') {
      // Why a literal: the older version is a request of its own, known before rendering like every dependency.
      if (pair.value.type !== 'StringLiteral' || (pair.value as hbs.AST.StringLiteral).value !== 'previous') throw fail(context, call, 'ERR_TEMPLATE_PARSE', 'version= takes the string literal "previous" (the version before the current one)');
      version = 'previous';
    }
    if (pair.key === 'backend') {
      const value = pair.value.type === 'StringLiteral' ? (pair.value as hbs.AST.StringLiteral).value : undefined;
      if (value === undefined || !backendNames.has(value)) throw fail(context, call, 'ERR_TEMPLATE_PARSE', `backend= must be one of ${BACKEND_NAMES.map((name) => `"${name}"`).join(', ')} as a string literal`);
      // A repeated key: Handlebars' hash keeps the first value, so the render reads that backend; so must the fetch.
      backend ??= value as BackendName;
    }
  }
  return { helper, path, backend, hasDefault, line: lineOf(call, context), ...(version === undefined ? {} : { version }) };
}

// Why literals only: the call is the identity one response is shared by (docs/templates.md "The vault helper"), and it
// must be known before rendering so a cycle makes each call once and `check` lists it.
/** `vault "database/creds/x"` (a GET) or `vault "pki/issue/x" common_name="a" ttl="72h"` (a PUT of those parameters). */
function readVaultCall(call: Call, context: WalkContext): Dependency {
  const first = call.params[0];
  if (first?.type !== 'StringLiteral' || call.params.length !== 1) {
    throw fail(context, call, 'ERR_TEMPLATE_DYNAMIC_PATH', 'vault takes exactly one string literal path (such as vault "database/creds/api-server") so the call is known before rendering');
  }
  const path = (first as hbs.AST.StringLiteral).value;
  const reason = invalidPathReason(path);
  if (reason !== undefined) throw fail(context, call, 'ERR_TEMPLATE_PARSE', `vault "${path}": ${reason}`);
  const params: Record<string, CallParam> = {};
  for (const pair of pairsOf(call)) {
    const value = pair.value;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(pair.key) || prototypeNames.has(pair.key)) throw fail(context, call, 'ERR_TEMPLATE_PARSE', `vault "${path}": "${pair.key}" is not a Vault parameter name (letters, digits and "_")`);
    if (value.type !== 'StringLiteral' && value.type !== 'NumberLiteral' && value.type !== 'BooleanLiteral') {
      throw fail(context, call, 'ERR_TEMPLATE_DYNAMIC_PATH', `vault "${path}": ${pair.key}= must be a literal (a quoted string, a number or true/false) so the call is known before rendering`);
    }
    // A repeated key: Handlebars' hash keeps the first value, and the render's identity is made from that hash.
    if (!Object.hasOwn(params, pair.key)) params[pair.key] = (value as hbs.AST.StringLiteral | hbs.AST.NumberLiteral | hbs.AST.BooleanLiteral).value;
  }
  const method = Object.keys(params).length === 0 ? 'GET' : 'PUT';
  return { helper: 'vault', path: callIdentity(path, params), backend: 'vault', hasDefault: false, line: lineOf(call, context), call: { method, path, params } };
}

/**
 * `{{x ...}}` → `{{__enc (x ...) "label"}}`, `{{name}}` → `{{__enc name "label"}}`, and `{{{x}}}` → `{{__raw x "label"}}`:
 * every value a template outputs passes through one of our helpers, so the validator can tell values from structure.
 */
function rewriteOutput(mustache: hbs.AST.MustacheStatement, context: WalkContext): void {
  const target = mustache.escaped ? ENCODE_HELPER : RAW_HELPER;
  const name = helperName(mustache, context);
  const label = describeCall(mustache);
  const inner: hbs.AST.Expression = name === undefined
    ? mustache.path
    : ({ type: 'SubExpression', path: mustache.path, params: mustache.params, hash: mustache.hash, loc: mustache.loc } as hbs.AST.SubExpression);
  const labelLiteral: hbs.AST.StringLiteral = { type: 'StringLiteral', value: label, original: label, loc: mustache.loc };
  mustache.path = { type: 'PathExpression', data: false, depth: 0, parts: [target], original: target, loc: mustache.loc };
  mustache.params = [inner, labelLiteral];
  mustache.hash = undefined as unknown as hbs.AST.Hash;
  mustache.escaped = false;
}

/** A short source-like label for errors: `secret "app/secret_key"`, `this`, `upper (secret "…")`. */
function describeCall(call: Call): string {
  const head = call.path.type === 'PathExpression' ? (call.path as hbs.AST.PathExpression).original : String((call.path as { original: string | number | boolean }).original);
  const params = call.params.map((param) => {
    if (param.type === 'StringLiteral') return JSON.stringify((param as hbs.AST.StringLiteral).value);
    if (param.type === 'PathExpression') return (param as hbs.AST.PathExpression).original;
    if (param.type === 'SubExpression') return `(${describeCall(param as hbs.AST.SubExpression)})`;
    return String((param as hbs.AST.NumberLiteral).original);
  });
  return [head, ...params].join(' ');
}

function envNameReason(name: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? undefined : 'not a valid environment variable name';
}

function example(helper: DependencyHelper): string {
  return { secret: 'app/secret_key', secrets: 'exchange/binance', exchange: 'binance', env: 'HOSTNAME', vault: 'database/creds/api-server' }[helper];
}

function describeNode(type: string): string {
  return type.startsWith('Partial') ? 'partials' : 'decorators';
}

export function lineOf(node: hbs.AST.Node, context: { lineOffset: number }): number {
  return node.loc.start.line + context.lineOffset;
}

function fail(context: WalkContext, node: hbs.AST.Node, code: 'ERR_TEMPLATE_PARSE' | 'ERR_TEMPLATE_DYNAMIC_PATH', reason: string): AgentError {
  const line = lineOf(node, context);
  return new AgentError(code, `${context.file}:${line}: ${reason}`, { details: { template: context.file, line } });
}
