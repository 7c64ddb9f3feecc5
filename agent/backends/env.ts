// The env backend: secrets from the agent's own environment, named after the path (DESIGN §5). It is the
// last link of the chain and the way a developer runs without any secret store.
import type { Backend, Outcome, SecretRef } from './backend.js';

export interface EnvBackendOptions {
  env: Readonly<Record<string, string | undefined>>;
  prefix?: string;
  /** Explicit path → variable name overrides (`env.map`). */
  map?: Readonly<Record<string, string>>;
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
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #prefix: string;
  readonly #map: Readonly<Record<string, string>>;

  constructor(options: EnvBackendOptions) {
    this.#env = options.env;
    this.#prefix = options.prefix ?? '';
    this.#map = options.map ?? {};
  }

  fetch(ref: SecretRef): Promise<Outcome> {
    return Promise.resolve(ref.kind === 'value' ? this.#value(ref.path) : this.#collect(ref.path));
  }

  isAvailable(): Promise<boolean> {
    return Promise.resolve(true);
  }

  #value(path: string): Outcome {
    const mapped = this.#map[path];
    const names = mapped === undefined ? candidateNames(path, this.#prefix) : [mapped];
    for (const name of names) {
      const value = this.#env[name];
      if (value !== undefined) return { status: 'found', data: value, version: `env:${name}` };
    }
    return { status: 'not_found', reason: `none of ${names.join(', ')} is set` };
  }

  /** `exchange/binance` collects EXCHANGE_BINANCE_* or else BINANCE_*, keys lower-cased without the stem. */
  #collect(path: string): Outcome {
    const stems = candidateNames(path, this.#prefix).slice(0, 2).map((name) => `${name}_`);
    for (const stem of stems) {
      const data: Record<string, string> = {};
      for (const [name, value] of Object.entries(this.#env)) {
        if (value !== undefined && name.startsWith(stem) && name.length > stem.length) {
          data[name.slice(stem.length).toLowerCase()] = value;
        }
      }
      if (Object.keys(data).length > 0) return { status: 'found', data };
    }
    return { status: 'not_found', reason: `no variable starts with ${stems.join(' or ')}` };
  }
}
