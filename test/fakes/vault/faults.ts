// Fault switches and request counters of the emulator: a test arms a fault for some requests (a path, a
// method, a number of times) and reads back exactly which requests arrived, with which headers.

/**
 * What goes wrong. `status` answers `{"errors":[...]}` (or `raw` as text/html; `raw: ""` is an empty body);
 * `proxy` is something in front of Vault answering for it (a load balancer, an ingress, an API gateway):
 * nginx's HTML error page, a gateway's own JSON, or nothing, without any of Vault's headers (default 404, html);
 * `delay` and `hang` use real time, because the client's timeout does.
 */
export type Fault =
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'status'; readonly status: number; readonly errors?: readonly string[]; readonly raw?: string }
  | { readonly kind: 'proxy'; readonly status?: number; readonly body?: 'html' | 'json' | 'empty' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'rate-limit' }
  | { readonly kind: 'hang' };

export interface FaultMatch {
  /** The logical path (`secret/data/app`) or a pattern; every path when absent. */
  readonly path?: string | RegExp;
  readonly method?: string;
  /** How many matching requests the fault applies to; every one when absent. */
  readonly times?: number;
}

interface Rule {
  readonly fault: Fault;
  readonly match: FaultMatch;
  remaining: number;
}

/** Does `path` match a string (exact) or pattern? */
function pathMatches(want: string | RegExp | undefined, path: string): boolean {
  return want === undefined || (typeof want === 'string' ? want === path : want.test(path));
}

export class Faults {
  #rules: Rule[] = [];

  /** Arm a fault; the first armed rule that matches a request wins. */
  add(fault: Fault, match: FaultMatch = {}): void {
    this.#rules.push({ fault, match, remaining: match.times ?? Number.POSITIVE_INFINITY });
  }

  /** Disarm every fault. */
  clear(): void {
    this.#rules = [];
  }

  /** The fault for this request, if any, counting one use of it. */
  take(method: string, path: string): Fault | undefined {
    const rule = this.#rules.find((r) => r.remaining > 0 && pathMatches(r.match.path, path) && (r.match.method === undefined || r.match.method === method));
    if (!rule) return undefined;
    rule.remaining -= 1;
    return rule.fault;
  }
}

/** One request as it arrived, for assertions (tests only: it keeps the token and the body). */
export interface RecordedRequest {
  readonly method: string;
  /** Logical path, percent-decoded, without `/v1/` or the query. */
  readonly path: string;
  /** The URL exactly as sent: `/v1/secret/data/a%26b?version=2`. */
  readonly url: string;
  /** A name for the route: `kv`, `health`, `mounts`, `lookup-self`, `renew-self`, `login:approle`, ... */
  readonly route: string;
  readonly token: string | undefined;
  /** The X-Vault-Namespace header as sent; undefined when absent. */
  readonly namespaceHeader: string | undefined;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown> | undefined;
}

export interface CountFilter {
  readonly method?: string;
  readonly path?: string | RegExp;
  readonly route?: string;
}

export class Counters {
  readonly requests: RecordedRequest[] = [];
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight = 0;
  peakInFlight = 0;
  /** TCP connections accepted (with TLS, each one is a handshake): shows whether clients keep connections alive. */
  connections = 0;

  /** Remember a request. */
  record(request: RecordedRequest): void {
    this.requests.push(request);
  }

  /** How many recorded requests match every given field. */
  count(filter: CountFilter = {}): number {
    return this.requests.filter((r) => (filter.method === undefined || r.method === filter.method) && (filter.route === undefined || r.route === filter.route) && pathMatches(filter.path, r.path)).length;
  }

  /** Forget every recorded request and the peak. */
  reset(): void {
    this.requests.length = 0;
    this.peakInFlight = this.inFlight;
  }

  /** Track one request from arrival to answer. */
  enter(): () => void {
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    return () => { this.inFlight -= 1; };
  }
}

/** The route name of a logical path, for counters. */
export function routeOf(path: string): string {
  if (path === 'sys/health') return 'health';
  if (path.startsWith('sys/internal/ui/mounts')) return 'mounts';
  if (path === 'auth/token/lookup-self') return 'lookup-self';
  if (path === 'auth/token/renew-self') return 'renew-self';
  if (path === 'auth/token/revoke-self') return 'revoke-self';
  if (path === 'auth/token/create') return 'token-create';
  const login = /^auth\/(.*)\/login$/.exec(path);
  if (login) return `login:${login[1] ?? ''}`;
  if (path.startsWith('sys/')) return 'sys';
  return 'kv';
}
