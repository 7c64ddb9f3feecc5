// One call to Vault through node-vault, classified for the chain (DESIGN §5): found / not found / denied /
// rejected / unavailable. node-vault rejects with ApiResponseError (a status) or a raw AxiosError (a
// transport code, whose `config` holds our token — so it is never kept as a cause or logged).
import type { NodeVaultClient } from './client.js';

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

  constructor(options: { client: NodeVaultClient; address: string; timeout: number }) {
    this.client = options.client;
    this.address = displayAddress(options.address);
    this.#timeout = options.timeout;
  }

  /** GET `/v1/<path>` (path already encoded) with the client's token, or `token` when given. */
  get(path: string, token?: string): Promise<Reply> {
    return this.call('GET', path, () => this.client.read(path, headersFor(token)));
  }

  /** POST a JSON body to `/v1/<path>`. */
  post(path: string, body: unknown, token?: string): Promise<Reply> {
    return this.call('POST', path, () => this.client.write(path, body, headersFor(token)));
  }

  /** GET `/v1/<path>?list=1` (node-vault's list with noCustomHTTPVerbs). */
  list(path: string): Promise<Reply> {
    return this.call('GET', `${path}?list=1`, () => this.client.list(path));
  }

  /** Run one node-vault call and classify how it ended. */
  async call(method: string, path: string, run: () => Promise<unknown>): Promise<Reply> {
    const token = this.client.token;
    try {
      return { kind: 'ok', body: await run() };
    } catch (error) {
      return this.#classify(error, method, path, token);
    }
  }

  /** `vault <address>: GET <path>: <what>`: the prefix of every reason and message. */
  where(method: string, path: string): string {
    return `vault ${this.address}: ${method} ${path}`;
  }

  /** ApiResponseError → by status; AxiosError → by transport code; anything else (tv4 validation) → rejected. */
  #classify(error: unknown, method: string, path: string, token: string | undefined): Reply {
    const where = this.where(method, path);
    const fields = (typeof error === 'object' && error !== null ? error : {}) as { response?: { statusCode?: unknown; body?: unknown }; code?: unknown; message?: unknown };
    const status = fields.response?.statusCode;
    const message = scrub(typeof fields.message === 'string' ? fields.message : '', token);
    if (typeof status === 'number') {
      if (status === 404) return { kind: 'not_found', body: fields.response?.body };
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

/** Per-call headers carrying `token`, as a fresh object (node-vault writes into the headers it is given). */
function headersFor(token: string | undefined): Record<string, unknown> | undefined {
  return token === undefined ? undefined : { headers: { 'X-Vault-Token': token } };
}

/** A Vault error message, bounded and without the token, fit for a log line or an error. */
export function scrub(message: string, token: string | undefined): string {
  const short = message.replace(/\s+/g, ' ').trim().slice(0, 200);
  return token === undefined || token === '' ? short : short.split(token).join('[token]');
}
