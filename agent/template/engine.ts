// Our own Handlebars environment (never the global one): the helpers of docs/templates.md, strict lookups,
// prototype access off, and a render scope that the helpers read the already-fetched secrets from.
// Helpers are synchronous, so every secret is fetched before rendering (dependencies come from the AST).
import Handlebars from 'handlebars';
import type { HelperOptions } from 'handlebars';
import type { BackendName, SecretData, SecretRef } from '../backends/backend.js';
import { AgentError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { encodeValue } from './encoders.js';
import type { Format } from './formats.js';
import { ENCODE_HELPER, RAW_HELPER } from './ast.js';

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
  emit(value: string, where: { line: number; label: string }): string;
  /** Turns each raw (`{{{x}}}`) value into text; identity, except in the validator's placeholder render. */
  emitRaw(value: string): string;
}

let current: RenderScope | undefined;

/** Run `fn` with `scope` visible to the helpers; rendering is synchronous, so scopes never interleave. */
export function withScope<T>(scope: RenderScope, fn: () => T): T {
  const previous = current;
  current = scope;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

function scope(): RenderScope {
  if (!current) throw new Error('template helper called outside a render');
  return current;
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

function secretHelper(path: string, options: Options): string {
  const data = resolve({ kind: 'value', path }, options, `secret "${path}"`);
  if (data === undefined) return String(hashOf(options)['default']);
  if (typeof data !== 'string') throw renderError('ERR_BACKEND_DATA', options, `secret "${path}" is a map of keys, not a value; use secrets "${path}"`);
  return data;
}

function secretsHelper(path: string, options: Options): Readonly<Record<string, string>> {
  const data = resolve({ kind: 'map', path }, options, `secrets "${path}"`);
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
  if ('default' in hashOf(options)) return String(hashOf(options)['default']);
  throw renderError('ERR_TEMPLATE_RENDER', options, `env "${name}": the variable is not set and no default= is given`);
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
  return typeof text === 'string' ? scope().emit(text, { line: where(options).line, label }) : text.toString();
}

/** The target of every rewritten `{{{x}}}`: the value as it is, by the template author's choice. */
function rawHelper(value: unknown, label: string, options: Options): string {
  const text = outputText(value, label, options);
  return typeof text === 'string' ? scope().emitRaw(text) : text.toString();
}

/** Explicit encoders (`{{json x}}` in a YAML file): their output is final, so it is marked safe. */
function explicitEncoder(format: Format) {
  return (value: unknown, options: Options): Handlebars.SafeString => {
    try {
      return new Handlebars.SafeString(encodeValue(format, String(value)));
    } catch (error) {
      throw renderError('ERR_ENCODE_REFUSED', options, `${format}: ${(error as Error).message}`, error);
    }
  };
}

function base64Decode(value: unknown, options: Options): string {
  const text = String(value);
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
  [ENCODE_HELPER]: encodeHelper,
  [RAW_HELPER]: rawHelper,
  dotenv: explicitEncoder('dotenv'),
  shell: explicitEncoder('shell'),
  docker: explicitEncoder('docker'),
  json: explicitEncoder('json'),
  yaml: explicitEncoder('yaml'),
  base64: (value: unknown) => Buffer.from(String(value), 'utf8').toString('base64'),
  base64Decode,
  upper: (value: unknown) => String(value).toUpperCase(),
  lower: (value: unknown) => String(value).toLowerCase(),
  // Only [A-Z0-9_] comes out, so it is safe as an assignment key in every format.
  envName: (value: unknown) => new Handlebars.SafeString(String(value).toUpperCase().replace(/[^A-Z0-9]+/g, '_')),
} as const;

/** The names templates may call, for validation and `--help`. */
export const helperNames: readonly string[] = Object.keys(helpers);

/** A fresh, isolated Handlebars with our helpers and without `log` (it would print values). */
export function createEngine(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.unregisterHelper('log');
  for (const [name, fn] of Object.entries(helpers)) hbs.registerHelper(name, fn as Handlebars.HelperDelegate);
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
