// A Vault emulator on a real node:http(s) server at 127.0.0.1:<random port>, built from
// docs/vault.md: full envelopes, KV v1/v2, tokens with TTL/max TTL on an injectable
// clock, AppRole and Kubernetes logins, namespaces, ACL policies, fault switches and request counters, and the
// database and PKI engines with their lease table (sys/leases) on the same clock.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../agent/util/clock.js';
import type { Clock } from '../../../agent/util/clock.js';
import type { AppRoleSpec, KubernetesRoleSpec } from './auth.js';
import { Counters, Faults, routeOf } from './faults.js';
import type { Fault } from './faults.js';
import { Kv1Mount } from './kv1.js';
import type { PathRule } from './policy.js';
import { Router } from './routes.js';
import type { DatabaseRoleSpec } from './database.js';
import type { LeaseTable } from './leases.js';
import type { PkiEngine, PkiRoleSpec } from './pki.js';
import type { TokenSpec } from './tokens.js';
import type { VaultReply, VaultRequest } from './wire.js';
import { fail, logicalPath, parseGoBool, readBody } from './wire.js';

export type { Fault, FaultMatch, RecordedRequest, CountFilter } from './faults.js';
export type { TokenSpec } from './tokens.js';
export type { AppRoleSpec, KubernetesRoleSpec } from './auth.js';
export type { DatabaseRoleSpec } from './database.js';
export type { Lease, LeaseEvent, LeaseTable } from './leases.js';
export type { IssuedCertificate, PkiEngine, PkiRoleSpec } from './pki.js';

const TLS_DIR = new URL('./tls/', import.meta.url);
/** PEM files of the emulator's test CA, server and client certificates (valid for 127.0.0.1 and localhost). */
export const tlsFiles = {
  ca: new URL('ca.pem', TLS_DIR).pathname,
  cert: new URL('server.pem', TLS_DIR).pathname,
  key: new URL('server-key.pem', TLS_DIR).pathname,
  clientCert: new URL('client.pem', TLS_DIR).pathname,
  clientKey: new URL('client-key.pem', TLS_DIR).pathname,
};

export interface VaultEmulatorOptions {
  /** Drives token TTLs and KV times; the system clock unless a FakeClock is given. */
  clock?: Clock;
  /** The root token (never expires, policy `root`); random when absent. */
  rootToken?: string;
  /** The namespace `setSecret` and friends use when none is given; default "dsta", as the agent's default. */
  namespace?: string;
  /** KV mounts present in every namespace; default `{ secret: 2 }`. */
  mounts?: Record<string, 1 | 2>;
  /** Listen on this port of 127.0.0.1 (default: any free one). */
  port?: number;
  /** Serve HTTPS with the fixture certificates; `requestCert` demands a client certificate from the test CA. */
  tls?: { requestCert?: boolean };
  /**
   * Emulate Vault Enterprise: a root-only path (sys/health, sys/init, sys/leader, sys/seal-status, ...) asked
   * with a non-root X-Vault-Namespace is 404 "unsupported path"; sys/health says `enterprise: true`. Default
   * false: those paths answer in any namespace.
   */
  enterprise?: boolean;
}

export interface SecretOptions {
  mount?: string;
  namespace?: string;
}

/** Where a database or PKI role lives: the mount (default `database` / `pki`) and namespace (default the emulator's). */
export interface EngineOptions {
  mount?: string;
  namespace?: string;
}

export interface VaultEmulator {
  readonly address: string;
  /** The root token. */
  readonly token: string;
  readonly clock: Clock;
  readonly faults: Faults;
  readonly counters: Counters;
  /** Write a secret (a new KV v2 version, or the v1 map); returns the new v2 version. */
  setSecret(path: string, data: Record<string, unknown>, options?: SecretOptions): number | undefined;
  /** Soft-delete versions of a KV v2 secret (default: the current one). */
  deleteVersions(path: string, versions?: number[], options?: SecretOptions): void;
  /** Destroy versions of a KV v2 secret (default: the current one). */
  destroyVersions(path: string, versions?: number[], options?: SecretOptions): void;
  /** Mint a token directly (no HTTP). */
  createToken(spec?: TokenSpec): string;
  revokeToken(token: string): void;
  /** Create or replace an ACL policy from HCL (the docs/vault.md subset) or rules. */
  setPolicy(name: string, policy: string | readonly PathRule[]): void;
  addAppRole(spec: AppRoleSpec): void;
  addKubernetesRole(spec: KubernetesRoleSpec): void;
  /** Seal or unseal: sealed, every logical request is a 503 and sys/health says so. */
  setSealed(sealed: boolean): void;
  /** Every lease the database and PKI engines issued, on the emulator's clock: validAt, isValid, counters, events. */
  readonly leases: LeaseTable;
  /** Create or replace a database role (enabling the mount): `<mount>/creds/<name>` then makes credentials. */
  addDatabaseRole(name: string, spec?: DatabaseRoleSpec, options?: EngineOptions): void;
  /** Create or replace a PKI role (enabling the mount and its CA): `<mount>/issue/<name>` then issues certificates. */
  addPkiRole(name: string, spec?: PkiRoleSpec, options?: EngineOptions): void;
  /** The PKI engine of a mount (enabled on first use): its CA certificate and the certificates it issued. */
  pki(options?: EngineOptions): PkiEngine;
  close(): Promise<void>;
}

/** Start an emulator; close it when done. */
export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const clock = options.clock ?? systemClock;
  const router = new Router(clock, options.mounts ?? { secret: 2 });
  router.enterprise = options.enterprise ?? false;
  const faults = new Faults();
  const counters = new Counters();
  const rootToken = options.rootToken ?? `hvs.root${randomBytes(9).toString('base64url')}`;
  router.tokens.create({ id: rootToken, ttl: 0, policies: ['root'], path: 'auth/token/root', displayName: 'root' });
  const defaultNamespace = options.namespace ?? 'dsta';
  const pending = new Set<NodeJS.Timeout>();

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const leave = counters.enter();
    response.on('close', leave);
    void serve(request, response, { router, faults, counters, pending }).catch(() => response.destroy());
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: readFileSync(tlsFiles.key), cert: readFileSync(tlsFiles.cert), ca: readFileSync(tlsFiles.ca), requestCert: options.tls.requestCert ?? false, rejectUnauthorized: options.tls.requestCert ?? false }, handler)
    : createHttpServer(handler);
  server.on('connection', () => {
    counters.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const kv2 = (path: string, opts: SecretOptions = {}) => {
    const mount = router.mounts(opts.namespace ?? defaultNamespace).get(opts.mount ?? 'secret');
    if (mount?.version !== 2) throw new Error(`no KV v2 mount "${opts.mount ?? 'secret'}"`);
    const secret = mount.store.secrets.get(path);
    return { store: mount.store, current: secret?.current ?? 0 };
  };

  return {
    address: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    token: rootToken,
    clock,
    faults,
    counters,
    setSecret(path, data, opts = {}) {
      const mount = router.mounts(opts.namespace ?? defaultNamespace).get(opts.mount ?? 'secret');
      if (!mount) throw new Error(`no mount "${opts.mount ?? 'secret'}"`);
      if (mount instanceof Kv1Mount) {
        mount.put(path, data);
        return undefined;
      }
      const result = mount.store.write(path, data, undefined);
      return result.kind === 'written' ? result.version : undefined;
    },
    deleteVersions(path, versions, opts) {
      const { store, current } = kv2(path, opts);
      store.softDelete(path, versions ?? [current]);
    },
    destroyVersions(path, versions, opts) {
      const { store, current } = kv2(path, opts);
      store.destroy(path, versions ?? [current]);
    },
    createToken: (spec = {}) => router.tokens.create(spec).id,
    revokeToken: (token) => { router.tokens.revoke(token); router.engines.leases.revokeByToken(token); },
    setPolicy: (name, policy) => { router.policies.set(name, policy); },
    addAppRole: (spec) => { router.auth.addAppRole(spec); },
    addKubernetesRole: (spec) => { router.auth.addKubernetesRole(spec); },
    setSealed: (sealed) => { router.sealed = sealed; },
    leases: router.engines.leases,
    addDatabaseRole: (name, spec, opts = {}) => { router.engines.database(opts.namespace ?? defaultNamespace, opts.mount ?? 'database').setRole(name, spec); },
    addPkiRole: (name, spec, opts = {}) => { router.engines.pki(opts.namespace ?? defaultNamespace, opts.mount ?? 'pki').setRole(name, spec); },
    pki: (opts = {}) => router.engines.pki(opts.namespace ?? defaultNamespace, opts.mount ?? 'pki'),
    async close() {
      for (const timer of pending) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

interface Context {
  readonly router: Router;
  readonly faults: Faults;
  readonly counters: Counters;
  readonly pending: Set<NodeJS.Timeout>;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']);

/** Parse, record, apply faults, route and answer one request. */
async function serve(incoming: IncomingMessage, response: ServerResponse, context: Context): Promise<void> {
  const url = new URL(incoming.url ?? '/', 'http://emulator');
  const { body, bad } = await readBody(incoming);
  const path = logicalPath(url.pathname) ?? '';
  const header = (name: string) => { const value = incoming.headers[name]; return Array.isArray(value) ? value[0] : value; };
  const namespaceHeader = header('x-vault-namespace');
  const bearer = /^Bearer (.+)$/.exec(header('authorization') ?? '')?.[1];
  const method = incoming.method ?? 'GET';
  const namespace = (namespaceHeader ?? '').replace(/^\/+|\/+$/g, '');
  context.counters.record({ method, path, url: incoming.url ?? '', route: context.router.engines.routeName(namespace, path) ?? routeOf(path), token: header('x-vault-token') ?? bearer, namespaceHeader, contentType: header('content-type'), body });
  const fault = context.faults.take(method, path);
  if (fault?.kind === 'reset') return void incoming.socket.destroy();
  if (fault?.kind === 'hang') return;
  if (fault?.kind === 'proxy') {
    answerAsProxy(response, fault.status ?? 404, fault.body ?? 'html');
    return;
  }
  if (fault?.kind === 'delay') await new Promise<void>((resolve) => { const timer = setTimeout(() => { context.pending.delete(timer); resolve(); }, fault.ms); context.pending.add(timer); });
  const list = url.searchParams.get('list');
  const parsedList = list === null ? false : parseGoBool(list);
  let reply: VaultReply;
  if (fault !== undefined && fault.kind !== 'delay') reply = faultReply(fault, path);
  else if (url.pathname !== '/v1/sys/health' && logicalPath(url.pathname) === undefined) reply = fail(404);
  else if (!METHODS.has(method) || parsedList === undefined) reply = fail(method === 'GET' ? 400 : 405);
  else if (bad) reply = fail(400, 'error parsing JSON');
  else {
    const request: VaultRequest = { method: method === 'HEAD' ? 'GET' : method, path, query: url.searchParams, list: parsedList && method === 'GET', token: header('x-vault-token') ?? bearer, namespace, headers: incoming.headers, body };
    reply = await context.router.route(request);
  }
  write(response, reply, fault?.kind === 'malformed');
}

// Why: nginx's own error page, byte for byte in shape (CRLF lines, a <title> and an <h1> with the status);
// the JSON is what an API gateway such as Kong answers for a route it does not know.
/** Answer as a proxy in front of Vault would: its own body and headers, none of Vault's. */
function answerAsProxy(response: ServerResponse, status: number, body: 'html' | 'json' | 'empty'): void {
  const line = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  if (body === 'empty') {
    response.writeHead(status, { Server: 'nginx', 'Content-Length': '0' }).end();
  } else if (body === 'json') {
    response.writeHead(status, { Server: 'kong/3.9.0', 'Content-Type': 'application/json; charset=utf-8' }).end('{\n  "message":"no Route matched with those values"\n}');
  } else {
    const html = `<html>\r\n<head><title>${line}</title></head>\r\n<body>\r\n<center><h1>${line}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
    response.writeHead(status, { Server: 'nginx', 'Content-Type': 'text/html' }).end(html);
  }
}

/** The reply a fault forces. */
function faultReply(fault: Fault, path: string): VaultReply {
  switch (fault.kind) {
    case 'status':
      if (fault.raw === undefined) return fail(fault.status, ...(fault.errors ?? []));
      return fault.raw === '' ? { status: fault.status } : { status: fault.status, body: fault.raw };
    case 'rate-limit': return { ...fail(429, `request path "${path}": rate limit quota exceeded`), headers: { 'Retry-After': '1' } };
    default: return { status: 200, body: {} };
  }
}

/** Write a reply: JSON plus newline (Go's json.Encoder), or nothing; `malformed` cuts the body short. */
function write(response: ServerResponse, reply: VaultReply, malformed: boolean): void {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...reply.headers };
  if (malformed) {
    response.writeHead(200, headers).end('{"request_id":"0b0e7c1a","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"api_');
    return;
  }
  if (reply.body === undefined) return void response.writeHead(reply.status, headers).end();
  const text = typeof reply.body === 'string' ? reply.body : `${JSON.stringify(reply.body)}\n`;
  if (typeof reply.body === 'string') headers['Content-Type'] = 'text/html';
  response.writeHead(reply.status, headers).end(text);
}
