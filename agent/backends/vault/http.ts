// One call to Vault through node-vault, classified for the chain (docs/design.md "The chain"): found / not found / denied /
// rejected / unavailable. node-vault rejects with ApiResponseError (a status) or a raw AxiosError (a
// transport code, whose `config` holds our token — so it is never kept as a cause or logged).
import type { NodeVaultClient } from './client.js';
import { isRootOnlyPath } from './client.js';

// Why: "not found" only when Vault itself says nothing is there (docs/vault.md, "Which 404 is not found").
// Vault's 404 for a path it does not serve ("unsupported path", "no handler for route", the KV v2 "Invalid
// path" warning) is `rejected` with status 404: the path is wrong and the caller decides (a read: unavailable;
// a login: refused). Any other 404 — HTML, empty, JSON without Vault's shape — came from something in front
// of Vault: unavailable.
export type Reply =
  | { readonly kind: 'ok'; readonly body: unknown }
  | { readonly kind: 'not_found'; readonly body: unknown }
  | { readonly kind: 'denied'; readonly message: string }
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

const TRANSPORT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** The address for messages: no user-info, no trailing slash. */
export function displayAddress(address: string): string {
  try {
    const url = new URL(address);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '<invalid address>';
  }
}

export class VaultHttp {
  readonly client: NodeVaultClient;
  readonly address: string;
  readonly #timeout: number;
  readonly #root: NodeVaultClient;

  /** `rootClient`: the same Vault without a namespace, for root-only paths; needed when `client` has one. */
  constructor(options: { client: NodeVaultClient; rootClient?: NodeVaultClient | undefined; address: string; timeout: number }) {
    this.client = options.client;
    this.address = displayAddress(options.address);
    this.#timeout = options.timeout;
    this.#root = options.rootClient ?? options.client;
  }

  /** GET `/v1/<path>` (path already encoded) with the client's token, or `token` when given. */
  get(path: string, token?: string): Promise<Reply> {
    const { client, token: sent } = this.#route(path, token);
    return this.call('GET', path, () => client.read(path, headersFor(sent)), [sent]);
  }

  /** POST a JSON body to `/v1/<path>`. */
  post(path: string, body: unknown, token?: string): Promise<Reply> {
    const { client, token: sent } = this.#route(path, token);
    return this.call('POST', path, () => client.write(path, body, headersFor(sent)), [sent]);
  }

  /** PUT a JSON body to `/v1/<path>` (dynamic-secret writes, `sys/leases/renew|revoke`, as Vault documents them). */
  put(path: string, body: unknown, token?: string): Promise<Reply> {
    const { client, token: sent } = this.#route(path, token);
    // Why request(): node-vault's write() is a POST; its request() takes the method but not the client's
    // requestOptions, so the timeout is passed here (TLS lives in the client's https agent either way).
    return this.call('PUT', path, () => client.request({ path: `/${path}`, method: 'PUT', json: body, timeout: this.#timeout, ...headersFor(sent) }), [sent]);
  }

  /** GET sys/health, a root-only path: never with X-Vault-Namespace, and no token (node-vault resolves it whatever the status). */
  health(): Promise<Reply> {
    return this.call('GET', 'sys/health', () => this.#root.health());
  }

  // Why: node-vault puts X-Vault-Namespace on every request of a client that has one, and no per-call header
  // can remove it; a root-only path goes through the client without a namespace, carrying the token per call.
  /** The client for `path`, and the token to send per call (undefined: the client's own). */
  #route(path: string, token: string | undefined): { client: NodeVaultClient; token: string | undefined } {
    if (!isRootOnlyPath(path) || this.#root === this.client) return { client: this.client, token };
    return { client: this.#root, token: token ?? this.client.token };
  }

  /** GET `/v1/<path>?list=1` (node-vault's list with noCustomHTTPVerbs). */
  list(path: string): Promise<Reply> {
    return this.call('GET', `${path}?list=1`, () => this.client.list(path));
  }

  /**
   * Run one node-vault call and classify how it ended. `secrets`: what else the call carries that no message may
   * show — a token sent per call (a new token-file token being checked), a login's secret_id or JWT.
   */
  async call(method: string, path: string, run: () => Promise<unknown>, secrets: readonly (string | undefined)[] = []): Promise<Reply> {
    const hidden = [this.client.token, ...secrets];
    try {
      return { kind: 'ok', body: await run() };
    } catch (error) {
      return this.#classify(error, method, path, hidden);
    }
  }

  /** `vault <address>: GET <path>: <what>`: the prefix of every reason and message. */
  where(method: string, path: string): string {
    return `vault ${this.address}: ${method} ${path}`;
  }

  /** ApiResponseError → by status; AxiosError → by transport code; anything else (tv4 validation) → rejected. */
  #classify(error: unknown, method: string, path: string, token: Hidden): Reply {
    const where = this.where(method, path);
    const fields = (typeof error === 'object' && error !== null ? error : {}) as { response?: { statusCode?: unknown; body?: unknown }; code?: unknown; message?: unknown };
    const status = fields.response?.statusCode;
    const message = scrub(typeof fields.message === 'string' ? fields.message : '', token);
    if (typeof status === 'number') {
      if (status === 404) return classify404(fields.response?.body, where, token);
      if (status === 403) return { kind: 'denied', message: `${where}: permission denied (HTTP 403)` };
      if (status === 429) return { kind: 'unavailable', reason: `${where}: rate limited (HTTP 429)` };
      if (status >= 500 || status === 412) return { kind: 'unavailable', reason: `${where}: HTTP ${status}${message === `Status ${status}` ? '' : `: ${message}`}` };
      return { kind: 'rejected', status, message: `${where}: HTTP ${status}: ${message}` };
    }
    const code = typeof fields.code === 'string' ? fields.code : '';
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return { kind: 'unavailable', reason: `${where}: timed out after ${this.#timeout}ms` };
    if (code in TRANSPORT) return { kind: 'unavailable', reason: `${where}: ${TRANSPORT[code] ?? code} (${code})` };
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(code)) return { kind: 'unavailable', reason: `${where}: TLS handshake failed (${code})` };
    if (code !== '') return { kind: 'unavailable', reason: `${where}: request failed (${code})` };
    return { kind: 'rejected', status: 0, message: `${where}: invalid request: ${message.slice(0, 120)}` };
  }
}

/** A JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Vault's answer to a missing secret: `{"errors":[]}`, or a KV v2 envelope whose `data.metadata` tells a deleted or destroyed version. */
function isVaultNotFound(body: Record<string, unknown>): boolean {
  const errors = body['errors'];
  if (Array.isArray(errors)) return errors.length === 0;
  const data = body['data'];
  return isRecord(data) && isRecord(data['metadata']);
}

/** What Vault said in a 404 that is its own but not "nothing here": its first error, or the KV v2 envelope's first warning. */
function vaultSaid(body: Record<string, unknown>): string | undefined {
  const errors = body['errors'];
  if (Array.isArray(errors)) return errors.every((error) => typeof error === 'string') ? errors[0] : undefined;
  const warnings = body['warnings'];
  return 'data' in body && Array.isArray(warnings) && typeof warnings[0] === 'string' ? warnings[0] : undefined;
}

/** A 404: Vault's "nothing here" (not_found), Vault's "no such path here" (rejected 404), or not Vault's (unavailable). */
function classify404(body: unknown, where: string, token: Hidden): Reply {
  if (isRecord(body)) {
    if (isVaultNotFound(body)) return { kind: 'not_found', body };
    const said = vaultSaid(body);
    if (said !== undefined) return { kind: 'rejected', status: 404, message: `${where}: HTTP 404: ${scrub(said, token)}` };
  }
  return { kind: 'unavailable', reason: `${where}: HTTP 404 not from Vault (body: ${bodyShape(body, token)})` };
}

// Why: a proxy's page may echo the request (headers, the token); naming its shape says enough to find the
// proxy, and the one quoted part, an HTML <title>, is cut short and scrubbed first.
/** What a body that is not Vault's looks like: `HTML "502 Bad Gateway"`, `empty`, `text, 21 bytes`, ... */
function bodyShape(body: unknown, token: Hidden): string {
  if (body === undefined || body === null || body === '') return 'empty';
  if (typeof body === 'string') {
    if (!/^\s*</.test(body)) return `text, ${Buffer.byteLength(body)} bytes`;
    const title = /<title[^>]*>([^<]*)</i.exec(body)?.[1];
    const short = scrub(title ?? '', token).replace(/["\\]/g, '').slice(0, 60);
    return short === '' ? 'HTML' : `HTML "${short}"`;
  }
  return isRecord(body) ? 'JSON without Vault\'s "errors"' : 'JSON that is not an object';
}

/** Per-call headers carrying `token`, as a fresh object (node-vault writes into the headers it is given). */
function headersFor(token: string | undefined): Record<string, unknown> | undefined {
  return token === undefined ? undefined : { headers: { 'X-Vault-Token': token } };
}

// Why: the token is replaced before the text is cut, so a token across the cut cannot leave a prefix behind.
/** What a message must not show: the token, or every credential a call carried. */
type Hidden = string | undefined | readonly (string | undefined)[];

/** A Vault error message, bounded and without the token (or any credential in `token`), fit for a log line or an error. */
export function scrub(message: string, token: Hidden): string {
  let redacted = message;
  for (const secret of typeof token === 'string' || token === undefined ? [token] : token) {
    if (secret !== undefined && secret !== '') redacted = redacted.split(secret).join('[token]');
  }
  return redacted.replace(/\s+/g, ' ').trim().slice(0, 200);
}
