// The emulator's dynamic secret engines — database and PKI mounts per namespace — and the lease table they
// share, behind one entry point the router calls after its ACL check.
import type { Clock } from '../../../agent/util/clock.js';
import { DatabaseEngine } from './database.js';
import { LeaseTable } from './leases.js';
import { PkiEngine } from './pki.js';
import type { Capability } from './policy.js';
import type { TokenEntry } from './tokens.js';
import type { VaultReply, VaultRequest } from './wire.js';

export type Engine = DatabaseEngine | PkiEngine;

/** Whether a logical path is one of the lease endpoints under sys/. */
export const isLeasePath = (path: string): boolean => /^sys\/(leases\/(renew|revoke|revoke-prefix|lookup)|renew|revoke|revoke-prefix)(\/|$)/.test(path);

export class Engines {
  readonly leases: LeaseTable;
  readonly #clock: Clock;
  readonly #namespaces = new Map<string, Map<string, Engine>>();

  constructor(clock: Clock) {
    this.#clock = clock;
    this.leases = new LeaseTable(clock);
  }

  /** The database engine at a mount of a namespace, enabled on first use. */
  database(namespace: string, mount: string): DatabaseEngine {
    const existing = this.#mounts(namespace).get(mount);
    if (existing instanceof DatabaseEngine) return existing;
    if (existing) throw new Error(`mount "${mount}" is a ${existing.type} engine`);
    const engine = new DatabaseEngine(this.leases, () => this.#clock.now());
    this.#mounts(namespace).set(mount, engine);
    return engine;
  }

  /** The PKI engine (with its CA) at a mount of a namespace, enabled on first use. */
  pki(namespace: string, mount: string): PkiEngine {
    const existing = this.#mounts(namespace).get(mount);
    if (existing instanceof PkiEngine) return existing;
    if (existing) throw new Error(`mount "${mount}" is a ${existing.type} engine`);
    const engine = new PkiEngine(this.#clock, this.leases, mount);
    this.#mounts(namespace).set(mount, engine);
    return engine;
  }

  /** The engine mounted at the start of `path`, and the path inside it. */
  find(namespace: string, path: string): { name: string; engine: Engine; rest: string } | undefined {
    for (const [name, engine] of this.#mounts(namespace)) {
      if (path.startsWith(`${name}/`)) return { name, engine, rest: path.slice(name.length + 1) };
    }
    return undefined;
  }

  /** Answer a lease endpoint or an engine path (after the router's ACL check); undefined for anything else. */
  handle(request: VaultRequest, token: TokenEntry, allowed: (path: string, capability: Capability) => boolean): VaultReply | Promise<VaultReply> | undefined {
    if (isLeasePath(request.path)) return this.leases.handle(request, allowed);
    const found = this.find(request.namespace, request.path);
    return found?.engine.handle(request, found.rest, found.name, token);
  }

  /** The counters' route name of a path served here: `database`, `pki` or `leases`; undefined otherwise. */
  routeName(namespace: string, path: string): string | undefined {
    if (isLeasePath(path)) return 'leases';
    return this.find(namespace, path)?.engine.type;
  }

  #mounts(namespace: string): Map<string, Engine> {
    let mounts = this.#namespaces.get(namespace);
    if (!mounts) {
      mounts = new Map();
      this.#namespaces.set(namespace, mounts);
    }
    return mounts;
  }
}
