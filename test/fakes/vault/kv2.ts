// The HTTP face of a KV v2 mount (docs/vault.md): data/, metadata/, delete/, undelete/, destroy/, config,
// with the three 404 shapes (empty errors, envelope with metadata, empty body) and v1-style path warnings.
import type { Clock } from '../../../agent/util/clock.js';
import { listKeys, listPrefix } from './kv1.js';
import { Kv2Store } from './kv2-store.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { envelope, fail, missing, noContent, ok } from './wire.js';

const OPERATION: Record<string, string> = { GET: 'get', POST: 'put', PUT: 'put', PATCH: 'patch', DELETE: 'delete' };

/** `versions` of a delete/undelete/destroy body, or undefined when absent or empty. */
function versionsOf(body: Record<string, unknown> | undefined): number[] | undefined {
  const list = body?.['versions'];
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.map(Number).filter(Number.isInteger);
}

/** The `cas` option: a number, undefined when absent, NaN when it does not parse. */
function casOf(body: Record<string, unknown> | undefined): number | undefined {
  const options = body?.['options'];
  if (typeof options !== 'object' || options === null) return undefined;
  const cas = (options as Record<string, unknown>)['cas'];
  if (cas === undefined || cas === null) return undefined;
  return typeof cas === 'number' || (typeof cas === 'string' && /^\d+$/.test(cas)) ? Number(cas) : Number.NaN;
}

// Why: Vault's kv-v2 docs: at most 64 keys, keys up to 128 bytes, values up to 512 bytes, strings only.
/** What is wrong with a `custom_metadata` map, in Vault's words as near as known; undefined when it is valid. */
function customMetadataProblem(custom: unknown): string | undefined {
  if (!isRecord(custom)) return 'custom_metadata must be a map of strings';
  const entries = Object.entries(custom);
  if (entries.length > 64) return `custom_metadata: payload must contain at most 64 keys, provided ${entries.length}`;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') return `custom_metadata: value for key "${key}" is not a string`;
    if (Buffer.byteLength(key) > 128) return `custom_metadata: length of key "${key}" is ${Buffer.byteLength(key)} but must be 128 or less`;
    if (Buffer.byteLength(value) > 512) return `custom_metadata: length of value for key "${key}" is ${Buffer.byteLength(value)} but must be 512 or less`;
  }
  return undefined;
}

/** A JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Kv2Mount {
  readonly version = 2 as const;
  readonly store: Kv2Store;

  constructor(clock: Clock) {
    this.store = new Kv2Store(clock);
  }

  /** Serve one request whose path is relative to the mount (`data/app/db`). */
  handle(request: VaultRequest, path: string): VaultReply {
    const cut = path.indexOf('/');
    const area = cut === -1 ? path : path.slice(0, cut);
    const rest = cut === -1 ? '' : path.slice(cut + 1);
    if (area === 'metadata') return this.#metadata(request, rest);
    if (area === 'config' && rest === '') return ok({ data: { cas_required: this.store.casRequired, delete_version_after: '0s', max_versions: 0 }, mount_type: 'kv' });
    if (rest === '' && area === 'data') return { status: 404, body: envelope({ warnings: ['Non-listing operations on the root of a K/V v2 mount are not supported.'] }) };
    if (rest !== '' && area === 'data') return this.#data(request, rest);
    if (rest !== '' && (area === 'delete' || area === 'undelete' || area === 'destroy')) return this.#versions(request, area, rest);
    const operation = request.list ? 'list' : OPERATION[request.method] ?? 'get';
    return { status: 404, body: envelope({ warnings: [`Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${operation}' for this operation.`] }) };
  }

  /** data/<path>: read, write, patch or soft-delete the latest version. */
  #data(request: VaultRequest, path: string): VaultReply {
    switch (request.method) {
      case 'GET': return this.#read(request, path);
      case 'POST':
      case 'PUT': return this.#write(request, path);
      case 'PATCH': return this.#patch(request, path);
      case 'DELETE': {
        const secret = this.store.secrets.get(path);
        if (secret) this.store.softDelete(path, [secret.current]);
        return noContent;
      }
      default: return fail(405, 'unsupported operation');
    }
  }

  /** GET data/<path>?version=N with the three outcomes of path_data.go. */
  #read(request: VaultRequest, path: string): VaultReply {
    const secret = this.store.secrets.get(path);
    if (!secret) return missing();
    const asked = Number(request.query.get('version') ?? '0');
    if (!Number.isInteger(asked) || asked < 0) return fail(400, 'invalid version');
    const number = asked === 0 ? secret.current : asked;
    const version = secret.versions.get(number);
    if (!version) return missing();
    const metadata = this.store.versionMetadata(secret, number, version);
    if (this.store.isGone(version)) return { status: 404, body: envelope({ data: { data: null, metadata } }) };
    return ok({ data: { data: version.data, metadata }, mount_type: 'kv' });
  }

  /** POST data/<path>: a new version under check-and-set. */
  #write(request: VaultRequest, path: string): VaultReply {
    const data = request.body?.['data'];
    if (!isRecord(data)) return fail(400, 'no data provided');
    const cas = casOf(request.body);
    if (Number.isNaN(cas)) return fail(400, 'error parsing check-and-set parameter');
    const result = this.store.write(path, data, cas);
    if (result.kind === 'error') return fail(400, result.message);
    const secret = this.store.secrets.get(path);
    const version = secret?.versions.get(result.version);
    if (!secret || !version) return fail(500, 'internal error');
    return ok({ data: this.store.versionMetadata(secret, result.version, version), mount_type: 'kv' });
  }

  /** PATCH data/<path>: JSON merge patch into a new version; a missing key is a 404 with no body. */
  #patch(request: VaultRequest, path: string): VaultReply {
    const type = request.headers['content-type'] ?? '';
    if (!type.startsWith('application/merge-patch+json')) return fail(415, `PATCH requires Content-Type of application/merge-patch+json, provided ${type}`);
    const secret = this.store.secrets.get(path);
    const current = secret?.versions.get(secret.current);
    if (!secret || !current) return { status: 404 };
    if (this.store.isGone(current)) return { status: 404, body: envelope({ data: this.store.versionMetadata(secret, secret.current, current) }) };
    const patch = request.body?.['data'];
    if (!isRecord(patch)) return fail(400, 'no data provided');
    const merged = Object.fromEntries(
      Object.entries({ ...current.data, ...patch }).filter(([key]) => patch[key] !== null),
    );
    const cas = casOf(request.body);
    if (cas !== undefined && (Number.isNaN(cas) || cas <= 0)) return fail(400, 'check-and-set parameter did not match the current version');
    return this.#write({ ...request, body: { data: merged, options: { cas: cas ?? secret.current } } }, path);
  }

  /** metadata/<path>: list, read, delete, or write max_versions / cas_required / custom_metadata. */
  #metadata(request: VaultRequest, path: string): VaultReply {
    if (request.list) {
      const keys = listKeys(this.store.secrets.keys(), listPrefix(path));
      return keys.length === 0 ? missing() : ok({ data: { keys }, mount_type: 'kv' });
    }
    const secret = this.store.secrets.get(path);
    if (request.method === 'GET') return secret ? ok({ data: this.store.metadata(secret), mount_type: 'kv' }) : missing();
    if (request.method === 'DELETE') {
      this.store.secrets.delete(path);
      return noContent;
    }
    if (request.method === 'PATCH') return this.#patchMetadata(request, path);
    if (request.method !== 'POST' && request.method !== 'PUT') return fail(405, 'unsupported operation');
    const body = request.body ?? {};
    const custom = body['custom_metadata'];
    const problem = custom === undefined ? undefined : customMetadataProblem(custom);
    if (problem !== undefined) return fail(400, problem);
    // Why: Vault's metadata write creates the key's metadata when there is none yet (no version is written).
    const target = secret ?? this.store.createMetadata(path);
    if (typeof body['max_versions'] === 'number') target.maxVersions = body['max_versions'];
    if (typeof body['cas_required'] === 'boolean') target.casRequired = body['cas_required'];
    // A metadata write replaces custom_metadata as a whole; PATCH merges into it.
    if (isRecord(custom)) target.customMetadata = Object.keys(custom).length === 0 ? null : { ...(custom as Record<string, string>) };
    this.store.touchMetadata(target);
    return noContent;
  }

  /**
   * PATCH metadata/<path>: a JSON merge patch (RFC 7386) of the metadata, as Vault's pathMetadataPatch applies it:
   * keys of `custom_metadata` with a string value are set, with null removed, the others kept; no version is written.
   * A missing key is a 404 with no body; the content type must be merge-patch.
   */
  #patchMetadata(request: VaultRequest, path: string): VaultReply {
    const type = request.headers['content-type'] ?? '';
    if (!type.startsWith('application/merge-patch+json')) return fail(415, `PATCH requires Content-Type of application/merge-patch+json, provided ${type}`);
    const secret = this.store.secrets.get(path);
    if (!secret) return { status: 404 };
    const body = request.body ?? {};
    const patch = body['custom_metadata'];
    let custom = secret.customMetadata;
    if (patch === null) custom = null;
    else if (patch !== undefined) {
      if (!isRecord(patch)) return fail(400, 'custom_metadata must be a map of strings');
      const merged: Record<string, unknown> = Object.fromEntries(
        [...Object.entries(custom ?? {}), ...Object.entries(patch)].filter(([key]) => patch[key] !== null),
      );
      const problem = customMetadataProblem(merged);
      if (problem !== undefined) return fail(400, problem);
      custom = Object.keys(merged).length === 0 ? null : (merged as Record<string, string>);
    }
    if (body['max_versions'] !== undefined && typeof body['max_versions'] !== 'number') return fail(400, 'max_versions must be a number');
    if (body['cas_required'] !== undefined && typeof body['cas_required'] !== 'boolean') return fail(400, 'cas_required must be a boolean');
    if (typeof body['max_versions'] === 'number') secret.maxVersions = body['max_versions'];
    if (typeof body['cas_required'] === 'boolean') secret.casRequired = body['cas_required'];
    secret.customMetadata = custom;
    this.store.touchMetadata(secret);
    return noContent;
  }

  /** delete/, undelete/ and destroy/ with a `versions` list. */
  #versions(request: VaultRequest, area: 'delete' | 'undelete' | 'destroy', path: string): VaultReply {
    if (request.method !== 'POST' && request.method !== 'PUT') return fail(405, 'unsupported operation');
    const versions = versionsOf(request.body);
    if (!versions) return fail(400, area === 'destroy' ? 'no version number provided' : 'No version number provided');
    if (area === 'delete') this.store.softDelete(path, versions);
    else if (area === 'undelete') this.store.undelete(path, versions);
    else this.store.destroy(path, versions);
    return noContent;
  }
}
