// KV paths and response parsing (docs/design.md, docs/vault.md). Paths are built and URL-encoded here,
// segment by segment (node-vault encodes nothing and its generated commands HTML-escape); bodies are
// checked before use, and a body of the wrong shape is ERR_BACKEND_RESPONSE, never a guess.
import { AgentError } from '../../errors.js';

export type KvVersion = 1 | 2;

/** A secret as read: its key/value map (values not yet stringified) and the KV v2 version. */
export interface SecretRead {
  readonly data: Readonly<Record<string, unknown>>;
  readonly version: string | undefined;
  /** KV v2 `data.metadata.created_time` of the version read (RFC 3339); undefined on KV v1. */
  readonly createdTime?: string;
  /** KV v2 `data.metadata.custom_metadata` (Vault 1.9+ sends it with every data read); undefined when none. */
  readonly customMetadata?: Readonly<Record<string, string>>;
}

/** A `custom_metadata` object as a string map; undefined when absent or null (non-string values are left out). */
function customMetadataOf(value: unknown): Readonly<Record<string, string>> | undefined {
  if (!isRecord(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Why a secret path cannot be sent, or undefined: empty, "." and ".." segments would be re-routed by URL parsing. */
export function secretPathProblem(path: string): string | undefined {
  if (path === '') return 'the secret path is empty';
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return `"${path}" has an empty, "." or ".." segment`;
  return undefined;
}

/** `a&b/c#d` → `a%26b/c%23d`: each segment encoded, the slashes kept. */
export function encodePath(path: string): string {
  return path.split('/').map((segment) => encodeURIComponent(segment)).join('/');
}

/** The API path of a secret: KV v2 `<mount>/<area>/<secret>`, KV v1 `<mount>/<secret>`. */
export function apiPath(mount: string, version: KvVersion, area: 'data' | 'metadata', secret: string): string {
  const tail = secret === '' ? '' : `/${encodePath(secret)}`;
  return version === 2 ? `${encodePath(mount)}/${area}${tail}` : `${encodePath(mount)}${tail}`;
}

/** A JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The error for a body that is not what Vault sends; names where, never quotes the body. */
export function malformed(where: string, what: string): AgentError {
  return new AgentError('ERR_BACKEND_RESPONSE', `${where}: malformed response: ${what}`, { details: { backend: 'vault' } });
}

/** The `data` object of an envelope, or ERR_BACKEND_RESPONSE. */
function envelopeData(body: unknown, where: string): Record<string, unknown> {
  if (!isRecord(body)) return malformedThrow(where, 'the body is not a JSON object');
  const data = body['data'];
  if (!isRecord(data)) return malformedThrow(where, '"data" is not an object');
  return data;
}

/** Throw `malformed(where, what)`; typed `never` so parsers read as one expression. */
function malformedThrow(where: string, what: string): never {
  throw malformed(where, what);
}

/** Parse a 200 secret read; undefined when Vault answered with no data (treated as not found). */
export function parseSecret(body: unknown, version: KvVersion, where: string): SecretRead | undefined {
  const data = envelopeData(body, where);
  if (version === 1) return { data, version: undefined };
  const inner = data['data'];
  if (inner === null) return undefined;
  if (!isRecord(inner)) return malformedThrow(where, '"data.data" is not an object');
  const metadata = data['metadata'];
  const number = isRecord(metadata) ? metadata['version'] : undefined;
  const created = isRecord(metadata) ? metadata['created_time'] : undefined;
  const custom = isRecord(metadata) ? customMetadataOf(metadata['custom_metadata']) : undefined;
  return { data: inner, version: typeof number === 'number' ? String(number) : undefined, ...(typeof created === 'string' ? { createdTime: created } : {}), ...(custom === undefined ? {} : { customMetadata: custom }) };
}

/** For a KV v2 404 with an envelope (a deleted or destroyed version), why it is gone. */
export function goneReason(body: unknown): string | undefined {
  if (!isRecord(body) || !isRecord(body['data'])) return undefined;
  const metadata = body['data']['metadata'];
  if (!isRecord(metadata)) return undefined;
  const version = typeof metadata['version'] === 'number' ? metadata['version'] : '?';
  if (metadata['destroyed'] === true) return `version ${version} is destroyed`;
  if (typeof metadata['deletion_time'] === 'string' && metadata['deletion_time'] !== '') return `version ${version} was deleted at ${metadata['deletion_time']}`;
  return undefined;
}

/** The KV version from sys/internal/ui/mounts (the Vault CLI's rule: options.version "2" → 2, else 1). */
export function parseMountVersion(body: unknown, where: string): KvVersion {
  const data = envelopeData(body, where);
  const options = data['options'];
  return isRecord(options) && options['version'] === '2' ? 2 : 1;
}

/** The new version from a KV v2 write response. */
export function parseWrite(body: unknown, where: string): string {
  const version = envelopeData(body, where)['version'];
  if (typeof version !== 'number') return malformedThrow(where, '"data.version" is not a number');
  return String(version);
}

export interface SecretMetadata {
  readonly version: string;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** `created_time` of the current version (a metadata write moves `updated_time`, never this); undefined when Vault lists no such version. */
  readonly versionCreatedTime?: string;
  readonly customMetadata?: Readonly<Record<string, string>>;
}

/** current_version, created_time, updated_time, the current version's created_time and custom_metadata from GET metadata/<secret>. */
export function parseMetadata(body: unknown, where: string): SecretMetadata {
  const data = envelopeData(body, where);
  const { current_version: version, created_time: created, updated_time: updated, versions } = data;
  if (typeof version !== 'number' || typeof created !== 'string' || typeof updated !== 'string') return malformedThrow(where, 'metadata lacks current_version, created_time or updated_time');
  const current = isRecord(versions) ? versions[String(version)] : undefined;
  const versionCreated = isRecord(current) ? current['created_time'] : undefined;
  const custom = customMetadataOf(data['custom_metadata']);
  return { version: String(version), createdTime: created, updatedTime: updated, ...(typeof versionCreated === 'string' ? { versionCreatedTime: versionCreated } : {}), ...(custom === undefined ? {} : { customMetadata: custom }) };
}

/** The keys of a list response. */
export function parseKeys(body: unknown, where: string): string[] {
  const keys = envelopeData(body, where)['keys'];
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) return malformedThrow(where, '"data.keys" is not a list of strings');
  return keys;
}

/** A stored value as the string a template receives: strings as they are, other JSON as JSON; null is absent. */
export function stringify(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
