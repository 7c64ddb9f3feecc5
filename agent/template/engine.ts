// Our own Handlebars environment (never the global one): the helpers of docs/templates.md, strict lookups,
// prototype access off, and a render scope that the helpers read the already-fetched secrets from.
// Helpers are synchronous, so every secret is fetched before rendering (dependencies come from the AST).
import Handlebars from 'handlebars';
import type { HelperOptions } from 'handlebars';
import type { BackendName, SecretData, SecretRef } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Format } from './formats.js';
import { callIdentity } from '../dynamic/identity.js';
import { ENCODE_HELPER, RAW_HELPER } from './ast.js';
import { describeBytes, limitError, MAX_HELPER_CHARS, MAX_RENDER_STEPS, maxOutputBytes } from './limits.js';

/** What a helper gets back for one reference: a value, nothing, or the error that stands for it. */
export type Lookup =
  | { readonly status: 'found'; readonly data: SecretData }
  | { readonly status: 'not_found'; readonly tried: readonly BackendName[] }
  | { readonly status: 'failed'; readonly error: AgentError };

/** Everything one render needs; set for the duration of one synchronous template call. */
export interface RenderScope {
  readonly file: string;
  readonly lineOffset: number;
  readonly format: Format;
  readonly backend: BackendName | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  lookup(ref: SecretRef, backend: BackendName | undefined): Lookup;
  /** Turns each escaped value into text; the validator swaps it to emit placeholders (see render.ts). */
  emit(value: string, where: Where): string;
  /** Turns each raw (`{{{x}}}`) value into text; the value itself, except in the validator's placeholder render. */
  emitRaw(value: string, where: Where): string;
  /** Turns the value of an explicit encoder (`{{json x}}`) into text; `format` is the helper's, not the file's. */
  emitExplicit(format: Format, value: string, where: Where): string;
}

/** Where a value is written: the template file's line and a source-like label of the call (`secret "a/b"`). */
export interface Where {
  readonly line: number;
  readonly label: string;
}

/** One render: its scope and the work it has done so far (docs/templates.md "Limits"). */
interface Render {
  readonly scope: RenderScope;
  /** Helper calls and #each iterations so far. */
  steps: number;
  /** Characters the #each iterations wrote themselves, each counted once however deep the loops nest. */
  loopChars: number;
  /** Characters of the values written. */
  valueChars: number;
  /** For each #each iteration in progress: the characters its nested iterations returned. */
  readonly frames: number[];
  /** Characters given to the string helpers and explicit encoders, written or not. */
  helperChars: number;
}

let current: Render | undefined;

/** Run `fn` with `scope` visible to the helpers; rendering is synchronous, so scopes never interleave. */
export function withScope<T>(scope: RenderScope, fn: () => T): T {
  const previous = current;
  current = { scope, steps: 0, loopChars: 0, valueChars: 0, frames: [], helperChars: 0 };
  try {
    return fn();
  } finally {
    current = previous;
  }
}

function render(): Render {
  if (!current) throw new Error('template helper called outside a render');
  return current;
}

function scope(): RenderScope {
  return render().scope;
}

/** Counts one helper call or iteration; a render that does too much is stopped where it is. */
function step(options: Options): void {
  // Why: a template of 2,000 expressions can still loop: 64 nested #each over a 2-key map is 2^64 iterations,
  // and rendering is synchronous, so the bound is counted here rather than trusted to the data.
  const r = render();
  r.steps += 1;
  if (r.steps > MAX_RENDER_STEPS) throw limitAt(options, `the render takes more than ${MAX_RENDER_STEPS} helper calls and #each iterations; loop over less`);
}

/** Counts the characters of a value about to be written; the output could not hold more than its limit anyway. */
function spend(options: Options, text: string): string {
  // Why: a large secret written by 2,000 expressions would be encoded 2,000 times before the output size is known.
  const r = render();
  r.valueChars += text.length;
  const max = maxOutputBytes(r.scope.format);
  if (r.valueChars > max) throw limitAt(options, `the values written are more than ${describeBytes(max)}, the largest ${r.scope.format} output`);
  return text;
}

function limitAt(options: Options, message: string): AgentError {
  const { file, line } = where(options);
  return limitError(file, line, message);
}

type Options = HelperOptions & { loc?: { start: { line: number } } };

function where(options: Options): { file: string; line: number } {
  const s = scope();
  return { file: s.file, line: (options.loc?.start.line ?? 0) + s.lineOffset };
}

/** An error that names the template file and line, with the stage's own message after it. */
export function renderError(code: ErrorCode, options: Options, message: string, cause?: unknown): AgentError {
  const { file, line } = where(options);
  return new AgentError(code, `${file}:${line}: ${message}`, { cause, details: { template: file, line } });
}

function hashOf(options: Options): Record<string, unknown> {
  return options.hash as Record<string, unknown>;
}

function resolve(ref: SecretRef, options: Options, label: string): SecretData | undefined {
  const s = scope();
  const pinned = (hashOf(options)['backend'] as BackendName | undefined) ?? s.backend;
  const result = s.lookup(ref, pinned);
  if (result.status === 'found') return result.data;
  if (result.status === 'failed') {
    const { file, line } = where(options);
    throw new AgentError(result.error.code, `${file}:${line}: ${label}: ${result.error.message}`, { cause: result.error, details: { ...result.error.details, template: file, line } });
  }
  if ('default' in hashOf(options)) return undefined;
  throw renderError('ERR_SECRET_NOT_FOUND', options, `${label}: not found (tried ${result.tried.join(', ') || 'no backend'})`, undefined);
}

/** `version="previous"` of a `secret`/`secrets` call (checked when the template was loaded). */
function versionOf(options: Options): { version?: 'previous' } {
  return hashOf(options)['version'] === 'previous' ? { version: 'previous' } : {};
}

/** The `default=` of a missing secret or variable: a value, never a missing name or a map (String() would write them). */
function defaultOf(options: Options, label: string): string {
  const value = hashOf(options)['default'];
  if (value === undefined || value === null) throw renderError('ERR_TEMPLATE_RENDER', options, `${label}: default= has no value`);
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw renderError('ERR_TEMPLATE_RENDER', options, `${label}: default= is a map, not a value`);
  return String(value);
}

function secretHelper(path: string, options: Options): string {
  const data = resolve({ kind: 'value', path, ...versionOf(options) }, options, `secret "${path}"`);
  if (data === undefined) return defaultOf(options, `secret "${path}"`);
  if (typeof data !== 'string') throw renderError('ERR_BACKEND_DATA', options, `secret "${path}" is a map of keys, not a value; use secrets "${path}"`);
  return data;
}

function secretsHelper(path: string, options: Options): Readonly<Record<string, string>> {
  const data = resolve({ kind: 'map', path, ...versionOf(options) }, options, `secrets "${path}"`);
  if (typeof data !== 'object') throw renderError('ERR_BACKEND_DATA', options, `secrets "${path}" is a single value, not a map of keys; use secret`);
  return data;
}

function exchangeHelper(name: string, options: Options): Readonly<Record<string, string>> {
  const data = secretsHelper(`exchange/${name}`, options);
  const missing = ['api_key', 'api_secret'].filter((key) => !Object.hasOwn(data, key));
  if (missing.length > 0) throw renderError('ERR_SECRET_NOT_FOUND', options, `exchange "${name}": exchange/${name} has no ${missing.join(' or ')}`);
  return data;
}

function envHelper(name: string, options: Options): string {
  const value = scope().env[name];
  if (value !== undefined) return value;
  if ('default' in hashOf(options)) return defaultOf(options, `env "${name}"`);
  throw renderError('ERR_TEMPLATE_RENDER', options, `env "${name}": the variable is not set and no default= is given`);
}

/** `vault "path" [param=literal ...]`: the `data` of the cycle's one response to that call (docs/templates.md "The vault helper"). */
function vaultHelper(path: string, options: Options): unknown {
  const label = `vault "${path}"`;
  // The same identity ast.ts gave the dependency, so every template making this call reads the one response.
  const result = scope().lookup({ kind: 'map', path: callIdentity(path, hashOf(options)) }, 'vault');
  if (result.status === 'found') return result.data;
  if (result.status === 'not_found') throw renderError('ERR_SECRET_NOT_FOUND', options, `${label}: Vault has nothing at this path`);
  const { file, line } = where(options);
  throw new AgentError(result.error.code, `${file}:${line}: ${label}: ${result.error.message}`, { cause: result.error, details: { ...result.error.details, template: file, line } });
}

/** The text of a value a template outputs; maps and missing values are template mistakes, named by label. */
function outputText(value: unknown, label: string, options: Options): string | Handlebars.SafeString {
  if (value instanceof Handlebars.SafeString) return value;
  if (value === undefined || value === null) throw renderError('ERR_TEMPLATE_RENDER', options, `${label} has no value`);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw renderError('ERR_TEMPLATE_RENDER', options, `${label} is a map, not a value; use #each or name a key`);
}

/** The target of every rewritten `{{x}}`: one complete literal of the template's format. */
function encodeHelper(value: unknown, label: string, options: Options): string {
  const text = outputText(value, label, options);
  return typeof text === 'string' ? scope().emit(spend(options, text), { line: where(options).line, label }) : text.toString();
}

/** The target of every rewritten `{{{x}}}`: the value as it is, by the template author's choice. */
function rawHelper(value: unknown, label: string, options: Options): string {
  const text = outputText(value, label, options);
  return typeof text === 'string' ? scope().emitRaw(spend(options, text), { line: where(options).line, label }) : text.toString();
}

/**
 * A helper of one value (`upper x`, `json x`): it gets the value's text, never `undefined` or a map (String() would
 * write "undefined" or "[object Object]"), and the text it is given is counted, whether or not it is written.
 */
function textHelper(name: string, fn: (text: string, options: Options) => unknown) {
  return (...args: unknown[]): unknown => {
    const options = args.at(-1) as Options;
    if (args.length !== 2) throw renderError('ERR_TEMPLATE_RENDER', options, `${name} takes one argument`);
    const value = args[0] instanceof Handlebars.SafeString ? args[0].toString() : args[0];
    if (value === undefined || value === null) throw renderError('ERR_TEMPLATE_RENDER', options, `${name}: its argument has no value`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'bigint') throw renderError('ERR_TEMPLATE_RENDER', options, `${name}: its argument is a map, not a value; use #each or name a key`);
    const text = String(value);
    // Why: base64 makes 4/3 of its input, so 40 nested calls grow 10 KB past any string V8 can hold (20 s on the
    // event loop, 2 GiB), and a value only tested by #if is never counted by the output limits.
    const r = render();
    r.helperChars += text.length;
    if (r.helperChars > MAX_HELPER_CHARS) throw limitAt(options, `string helpers are given more than ${describeBytes(MAX_HELPER_CHARS)} of text in one render; encode less`);
    return fn(text, options);
  };
}

/** Explicit encoders (`{{json x}}` in a YAML file): their output is final, so it is marked safe. */
function explicitEncoder(format: Format) {
  return textHelper(format, (text, options) => new Handlebars.SafeString(scope().emitExplicit(format, spend(options, text), { line: where(options).line, label: format })));
}

/** `#each` counting its iterations and the characters they write, nested loops included (docs/templates.md "Limits"). */
function boundedEach(builtin: Handlebars.HelperDelegate) {
  return function each(this: unknown, context: unknown, options: Options): unknown {
    const fn = options.fn;
    const iteration = function (this: unknown, ...args: Parameters<typeof fn>): string {
      step(options);
      const r = render();
      r.frames.push(0);
      let out: string;
      let nested = 0;
      try {
        out = fn.apply(this, args);
      } finally {
        nested = r.frames.pop() ?? 0;
      }
      r.loopChars += out.length - nested;
      if (r.frames.length > 0) r.frames[r.frames.length - 1] = (r.frames.at(-1) ?? 0) + out.length;
      const max = maxOutputBytes(r.scope.format);
      if (r.loopChars > max) throw limitAt(options, `#each writes more than ${describeBytes(max)}, the largest ${r.scope.format} output; loop over less`);
      return out;
    };
    return builtin.call(this, context, { ...options, fn: iteration });
  };
}

/** Every helper counts one step; `each` also counts its iterations. */
function counted(fn: (...args: never[]) => unknown): Handlebars.HelperDelegate {
  const call = fn as (this: unknown, ...args: unknown[]) => unknown;
  return function (this: unknown, ...args: unknown[]): unknown {
    step(args.at(-1) as Options);
    return call.apply(this, args);
  };
}

function base64Decode(text: string, options: Options): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw renderError('ERR_TEMPLATE_RENDER', options, 'base64Decode: the input is not canonical base64');
  const bytes = Buffer.from(text, 'base64');
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (!Buffer.from(decoded, 'utf8').equals(bytes)) throw renderError('ERR_TEMPLATE_RENDER', options, 'base64Decode: the decoded bytes are not UTF-8 text; deliver binary secrets as their own file');
  return decoded;
}

const helpers = {
  secret: secretHelper,
  secrets: secretsHelper,
  exchange: exchangeHelper,
  env: envHelper,
  vault: vaultHelper,
  [ENCODE_HELPER]: encodeHelper,
  [RAW_HELPER]: rawHelper,
  dotenv: explicitEncoder('dotenv'),
  shell: explicitEncoder('shell'),
  docker: explicitEncoder('docker'),
  json: explicitEncoder('json'),
  yaml: explicitEncoder('yaml'),
  base64: textHelper('base64', (text) => Buffer.from(text, 'utf8').toString('base64')),
  base64Decode: textHelper('base64Decode', base64Decode),
  upper: textHelper('upper', (text) => text.toUpperCase()),
  lower: textHelper('lower', (text) => text.toLowerCase()),
  // Only [A-Z0-9_] comes out, so it is safe as an assignment key in every format.
  envName: textHelper('envName', (text) => new Handlebars.SafeString(text.toUpperCase().replace(/[^A-Z0-9]+/g, '_'))),
} as const;

/** The names templates may call, for validation and `--help`. */
export const helperNames: readonly string[] = Object.keys(helpers);

/** A fresh, isolated Handlebars with our helpers and without `log` (it would print values); every helper counted. */
export function createEngine(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.unregisterHelper('log');
  for (const [name, fn] of Object.entries(helpers)) hbs.registerHelper(name, counted(fn));
  const builtins = hbs.helpers as Record<string, Handlebars.HelperDelegate | undefined>;
  for (const name of ['if', 'unless', 'with', 'lookup'] as const) {
    const builtin = builtins[name];
    if (builtin) hbs.registerHelper(name, counted(builtin));
  }
  const each = builtins['each'];
  if (each) hbs.registerHelper('each', counted(boundedEach(each)));
  return hbs;
}

export const compileOptions = {
  strict: true,
  noEscape: true,
  knownHelpersOnly: true,
  knownHelpers: Object.fromEntries([...helperNames, 'if', 'unless', 'each', 'with', 'lookup'].map((n) => [n, true])),
} satisfies CompileOptions;

export const runtimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
} satisfies Handlebars.RuntimeOptions;

type CompileOptions = Parameters<typeof Handlebars.compile>[1];
