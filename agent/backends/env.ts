// The env backend: secrets from the agent's own environment, named after the path (docs/configuration.md,
// "The env backend"). It is the last link of the chain and the way a developer runs without any secret store.
import type { Backend, Outcome, SecretRef } from './backend.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where a skipped variable is reported: a pino logger fits (only `debug` is used). */
export interface EnvBackendLog {
  debug(fields: Record<string, unknown>, message: string): void;
}

export interface EnvBackendOptions {
  env: Env;
  prefix?: string;
  /** Explicit path → variable name overrides (`env.map`). */
  map?: Readonly<Record<string, string>>;
  /** Receives one debug line per skipped variable, naming it (never its value). */
  log?: EnvBackendLog;
}

// Why: without a prefix, the names derived from a path collide with variables that something other than the
// operator put in the environment. The last-segment lookup turns `database/postgres/user` into `USER` (the
// shell's login name), and Kubernetes gives every container "service links" for each Service of its namespace
// (`POSTGRES_PORT=tcp://10.96.0.12:5432` for a Service `postgres`), which shadow `database/postgres/port`
// and `default=`. None of these is ever a secret; the list is in docs/configuration.md.
const PROCESS_NAMES: ReadonlySet<string> = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'OLDPWD', 'HOSTNAME', 'HOST', 'TERM', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'SHLVL', 'MAIL', '_',
]);
/** Locale (`LC_ALL`), Node (`NODE_ENV`, `NODE_OPTIONS`), npm scripts (`npm_config_*`), the Kubernetes API Service. */
const PROCESS_PREFIXES: readonly string[] = ['LC_', 'NODE_', 'npm_', 'KUBERNETES_'];
/** What follows `<S>` in the variables Kubernetes sets for a Service `<S>`: ports named or numbered, TCP, UDP or SCTP. */
const SERVICE_LINK = /^_(?:SERVICE_HOST|SERVICE_PORT(?:_.+)?|PORT|PORT_\d+_(?:TCP|UDP|SCTP)(?:_.+)?)$/;

/**
 * True when `name` is set by the OS, the shell, the container runtime, Node or Kubernetes rather than by the
 * operator: one of the listed names, an `LC_`/`NODE_`/`npm_`/`KUBERNETES_` name, or a service link
 * `<S>_SERVICE_HOST`, `<S>_SERVICE_PORT*`, `<S>_PORT`, `<S>_PORT_<n>_<PROTO>*` while `<S>_SERVICE_HOST` is set
 * in `env` (so a `FOO_PORT` without `FOO_SERVICE_HOST` is an ordinary variable).
 */
export function isProcessVariable(name: string, env: Env): boolean {
  if (PROCESS_NAMES.has(name) || PROCESS_PREFIXES.some((prefix) => name.startsWith(prefix))) return true;
  for (let at = name.indexOf('_', 1); at !== -1; at = name.indexOf('_', at + 1)) {
    if (SERVICE_LINK.test(name.slice(at)) && env[`${name.slice(0, at)}_SERVICE_HOST`] !== undefined) return true;
  }
  return false;
}

/** `api-key` → `API_KEY`: upper-case, every run of non-alphanumerics becomes one `_`. */
export function envName(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** The variable names tried for a value path, most specific first: A_B_KEY, B_KEY, KEY. */
export function candidateNames(path: string, prefix = ''): string[] {
  const segments = path.split('/').map(envName);
  return segments.map((_, start) => prefix + segments.slice(start).join('_'));
}

export class EnvBackend implements Backend {
  readonly name = 'env' as const;
  readonly #env: Env;
  readonly #prefix: string;
  readonly #map: Readonly<Record<string, string>>;
  readonly #log: EnvBackendLog | undefined;

  constructor(options: EnvBackendOptions) {
    this.#env = options.env;
    this.#prefix = options.prefix ?? '';
    this.#map = options.map ?? {};
    this.#log = options.log;
  }

  fetch(ref: SecretRef): Promise<Outcome> {
    return Promise.resolve(ref.kind === 'value' ? this.#value(ref.path) : this.#collect(ref.path));
  }

  isAvailable(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /**
   * A derived name the OS, shell, runtime, Node or Kubernetes set is passed over, with a debug line. Only
   * without a prefix: prefixed names are the operator's by construction, and `env.map` is an explicit choice.
   */
  #skipped(name: string): boolean {
    if (this.#prefix !== '' || !isProcessVariable(name, this.#env)) return false;
    this.#log?.debug({ variable: name }, 'environment variable skipped: set by the system or runtime, never a secret');
    return true;
  }

  #value(path: string): Outcome {
    const mapped = this.#map[path];
    const names = mapped === undefined ? candidateNames(path, this.#prefix) : [mapped];
    const skipped: string[] = [];
    for (const name of names) {
      const value = this.#env[name];
      if (value === undefined) continue;
      if (mapped === undefined && this.#skipped(name)) skipped.push(name);
      else return { status: 'found', data: value, version: `env:${name}` };
    }
    const why = skipped.length > 0 ? ` (skipped, set by the system or runtime: ${skipped.join(', ')})` : '';
    return { status: 'not_found', reason: `none of ${names.join(', ')} is set${why}` };
  }

  /**
   * `exchange/binance` collects EXCHANGE_BINANCE_* or else BINANCE_*, keys lower-cased without the stem; the
   * variables `isProcessVariable` names are left out (`database/postgres` never collects service links).
   */
  #collect(path: string): Outcome {
    const stems = candidateNames(path, this.#prefix).slice(0, 2).map((name) => `${name}_`);
    for (const stem of stems) {
      const data: Record<string, string> = {};
      for (const [name, value] of Object.entries(this.#env)) {
        if (value !== undefined && name.startsWith(stem) && name.length > stem.length && !this.#skipped(name)) {
          data[name.slice(stem.length).toLowerCase()] = value;
        }
      }
      if (Object.keys(data).length > 0) return { status: 'found', data };
    }
    return { status: 'not_found', reason: `no variable starts with ${stems.join(' or ')}` };
  }
}
