// The listener of docs/operations.md: health for probes, metrics for Prometheus, a status document for operators
// (never values) and a refresh trigger that only loopback callers may pull.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../errors.js';

export interface ServerHandlers {
  /** True once every template has rendered successfully at least once. */
  ready(): boolean;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The status document; already scrubbed of values. */
  status(): unknown;
  /** Ask for a cycle now; returns at once. */
  refresh(): void;
}

export interface Listener {
  readonly address: string;
  close(): Promise<void>;
}

/** `127.0.0.1:9876` or `[::1]:9876` → host and port; the config schema already checked the shape. */
export function splitListen(listen: string): { host: string; port: number } {
  const cut = listen.lastIndexOf(':');
  const host = listen.slice(0, cut).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(cut + 1)) };
}

/** Loopback callers only: 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Start listening on `listen`; resolves once bound, rejects with ERR_CONFIG_INVALID naming the address. */
export async function startServer(listen: string, handlers: ServerHandlers): Promise<Listener> {
  const server = createServer((request, response) => {
    route(request, response, handlers).catch(() => {
      send(response, 500, 'text/plain', 'internal error\n');
    });
  });
  const { host, port } = splitListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new AgentError('ERR_CONFIG_INVALID', `listen: cannot listen on ${listen}: ${error.code ?? error.message}`, { cause: error, details: { key: 'listen' } }));
    });
    server.listen(port, host, resolve);
  });
  const bound = server.address() as AddressInfo;
  return { address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`, close: () => closeServer(server) };
}

interface Reply {
  status: number;
  type?: string;
  body: string;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body: `${JSON.stringify(body)}\n`, ...(headers ? { headers } : {}) });

async function route(request: IncomingMessage, response: ServerResponse, handlers: ServerHandlers): Promise<void> {
  const reply = await answer(request, handlers);
  send(response, reply.status, reply.type ?? 'application/json', reply.body, reply.headers);
}

/** What to answer; a pure function of the request and the agent's state. */
async function answer(request: IncomingMessage, handlers: ServerHandlers): Promise<Reply> {
  const path = (request.url ?? '/').split('?')[0];
  const method = request.method ?? 'GET';
  const get = method === 'GET' || method === 'HEAD';
  if (path === '/health/live' && get) return json(200, { status: 'ok' });
  if (path === '/health/ready' && get) return handlers.ready() ? json(200, { status: 'ready' }) : json(503, { status: 'starting' });
  if (path === '/metrics' && get) {
    const { contentType, body } = await handlers.metrics();
    return { status: 200, type: contentType, body };
  }
  if (path === '/v1/status' && get) return { status: 200, body: `${JSON.stringify(handlers.status(), null, 2)}\n` };
  if (path === '/v1/refresh') {
    if (method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
    if (!isLoopback(request.socket.remoteAddress)) return json(403, { error: 'refresh is allowed from loopback callers only' });
    handlers.refresh();
    return json(202, { status: 'refresh scheduled' });
  }
  return json(404, { error: 'not found' });
}

function send(response: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  response.end(body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
