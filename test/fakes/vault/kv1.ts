// A KV version 1 mount (docs/vault.md): flat key/value maps, 204 on writes, `?list=true` listing.
import type { VaultReply, VaultRequest } from './wire.js';
import { fail, missing, noContent, ok } from './wire.js';

const DEFAULT_LEASE_TTL = 2_764_800;

// Why: listing is the same walk for v1 secrets and v2 metadata: next segment, `dir/` when deeper keys exist.
/** Keys directly under `prefix` ("" or ending in "/"), sorted; sub-trees end with "/". */
export function listKeys(paths: Iterable<string>, prefix: string): string[] {
  const keys = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const cut = rest.indexOf('/');
    keys.add(cut === -1 ? rest : rest.slice(0, cut + 1));
  }
  keys.delete('');
  return [...keys].sort();
}

/** `a/b` → `a/b/` and `""` stays `""`: Vault appends a slash to every list path. */
export function listPrefix(path: string): string {
  return path === '' || path.endsWith('/') ? path : `${path}/`;
}

/** Seconds of a v1 `ttl` value ("90", "30s", "5m", "1h"), the default lease otherwise. */
function leaseOf(data: Record<string, unknown>): number {
  const match = /^(\d+)(s|m|h)?$/.exec(typeof data['ttl'] === 'string' ? data['ttl'] : '');
  if (!match) return DEFAULT_LEASE_TTL;
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}

export class Kv1Mount {
  readonly version = 1 as const;
  readonly #secrets = new Map<string, Record<string, unknown>>();

  /** Store a secret directly (test setup). */
  put(path: string, data: Record<string, unknown>): void {
    this.#secrets.set(path, { ...data });
  }

  /** Serve one request whose path is relative to the mount. */
  handle(request: VaultRequest, path: string): VaultReply {
    if (request.list) {
      const keys = listKeys(this.#secrets.keys(), listPrefix(path));
      return keys.length === 0 ? missing() : ok({ data: { keys }, mount_type: 'kv' });
    }
    switch (request.method) {
      case 'GET': {
        const data = this.#secrets.get(path);
        return data === undefined ? missing() : ok({ data, lease_duration: leaseOf(data), mount_type: 'kv' });
      }
      case 'POST':
      case 'PUT':
        if (request.body === undefined) return fail(400, 'missing data fields');
        this.put(path, request.body);
        return noContent;
      case 'DELETE':
        this.#secrets.delete(path);
        return noContent;
      default:
        return fail(405, 'unsupported operation');
    }
  }
}
