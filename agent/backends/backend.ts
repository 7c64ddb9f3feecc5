// The contract every backend implements. A backend answers for one secret reference at a time and says
// *how* it failed, because the chain treats "not found", "denied" and "unavailable" differently (docs/design.md "The chain").

/** What a template or command asks for: one value (`a/b/key`) or every key of a secret (`a/b`). */
export interface SecretRef {
  readonly kind: 'value' | 'map';
  /** Slash-separated, no leading or trailing slash: `exchange/binance/api_key` or `exchange/binance`. */
  readonly path: string;
  /**
   * `previous`: the version before the current one (Vault KV v2 current-1, AWS AWSPREVIOUS; docs/templates.md
   * "version=previous"); a distinct request. Backends that keep no versions answer not found.
   */
  readonly version?: 'previous' | undefined;
}

export type SecretData = string | Readonly<Record<string, string>>;

export type Outcome =
  | { readonly status: 'found'; readonly data: SecretData; readonly version?: string; readonly meta?: ReadMeta }
  | { readonly status: 'not_found'; readonly reason?: string }
  | { readonly status: 'denied'; readonly reason: string }
  | { readonly status: 'unavailable'; readonly reason: string }
  /** The backend answered something the agent cannot use (a malformed body, a value where a map was asked): the path fails. */
  | { readonly status: 'error'; readonly error: AgentError };

/**
 * What the backend read to answer, for audit records and `secret_age_seconds`, taken from the data read itself
 * (never a second request): the secret it read and when the version it returned was written.
 */
export interface ReadMeta {
  /** The backend's own name for what it read: a Vault secret path (`exchange/binance`), an AWS SecretId. */
  readonly secret: string;
  /** ISO 8601 creation time of the version served (Vault KV v2 `created_time`, AWS `CreatedDate`). */
  readonly createdAt?: string;
  /** The `rotation-*` entries of the secret's KV v2 `custom_metadata`, which the data read carries (agent/rotation/policy.ts). */
  readonly rotation?: Readonly<Record<string, string>>;
}

import type { AgentError } from '../errors.js';
import type { BackendName } from './names.js';

export type { BackendName } from './names.js';

export interface Backend {
  readonly name: BackendName;
  /** Fetch one reference. Never throws for a failure it can name: it returns the outcome (`error` included). */
  fetch(ref: SecretRef): Promise<Outcome>;
  /**
   * Fetch many references at once when the backend can batch (AWS, or Vault by secret); outcomes keyed by
   * `refKey(ref)`. Every failure is an outcome: a reference left out is asked again alone, so an omission costs a
   * second request — only a backend that cannot answer a reference in bulk leaves it out.
   */
  fetchMany?(refs: readonly SecretRef[]): Promise<Map<string, Outcome>>;
  /** Authenticate and begin background work (Vault token renewal); called once before the first fetch. */
  start?(): Promise<void>;
  /** Cheap reachability probe for `health` and the library's `isAvailable()`. */
  isAvailable(): Promise<boolean>;
  /** Release sockets and timers. */
  close?(): Promise<void>;
}

/** The identity of a reference: its map key and its log label (`value:exchange/binance/api_key`, `value:a/b/key@previous`). */
export function refKey(ref: SecretRef): string {
  return `${ref.kind}:${ref.path}${ref.version === undefined ? '' : `${VERSION_MARK}${ref.version}`}`;
}

const VERSION_MARK = '@';

/** Whether a `refKey` or store request key names an older version (`...@previous`) rather than the current one. */
export function isVersionKey(key: string): boolean {
  return key.endsWith(`${VERSION_MARK}previous`);
}

/** The path inside a `refKey` (`value:a/b/key`) or a store request key (`vault|value:a/b/key`), without a version mark. */
export function pathOfKey(key: string): string {
  const path = key.slice(key.indexOf(':') + 1);
  return isVersionKey(path) ? path.slice(0, path.lastIndexOf(VERSION_MARK)) : path;
}

/** What a read reports about itself; a creation time that does not parse is left out rather than guessed. */
export function readMeta(secret: string, created: string | Date | undefined, custom?: Readonly<Record<string, string>>): ReadMeta {
  const at = created === undefined ? Number.NaN : new Date(created).getTime();
  const rotation = custom === undefined ? [] : Object.entries(custom).filter(([key]) => key.startsWith('rotation-'));
  const base: ReadMeta = rotation.length === 0 ? { secret } : { secret, rotation: Object.fromEntries(rotation) };
  return Number.isNaN(at) ? base : { ...base, createdAt: new Date(at).toISOString() };
}

/** Split `a/b/key` into the secret `a/b` and the key `key`; a one-segment path has an empty secret. */
export function splitPath(path: string): { secret: string; key: string } {
  const cut = path.lastIndexOf('/');
  return cut === -1 ? { secret: '', key: path } : { secret: path.slice(0, cut), key: path.slice(cut + 1) };
}

const segment = /^[A-Za-z0-9_.-]+$/;

/** Why `path` is not a valid secret path, or undefined when it is. Paths never contain `..`, empty segments or spaces. */
export function invalidPathReason(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  for (const part of path.split('/')) {
    if (part === '' ) return 'the path has an empty segment (leading, trailing or double "/")';
    if (part === '.' || part === '..') return 'the path has a "." or ".." segment';
    if (!segment.test(part)) return `the segment "${part}" has characters other than letters, digits, "_", "." and "-"`;
  }
  return undefined;
}
