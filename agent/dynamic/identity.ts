// What a `vault` helper call is, and its identity (docs/templates.md "The vault helper"): the method, the Vault path and
// the sorted parameters. Every template of a cycle that makes the same call shares one response — one request, one
// lease, one certificate — so the identity is computed the same way from the template's AST (ast.ts) and from the
// helper's arguments at render (engine.ts).

/** A parameter literal as the template wrote it; sent to Vault as that JSON type. */
export type CallParam = string | number | boolean;

export interface VaultCall {
  /** GET without parameters (a read), PUT with them (a write such as `pki/issue/<role>`). */
  readonly method: 'GET' | 'PUT';
  /** The Vault API path without `/v1/` (`database/creds/api-server`). */
  readonly path: string;
  readonly params: Readonly<Record<string, CallParam>>;
}

const IDENTITY = /^(GET|PUT) (\S+)/;

// Why a method word in front: a KV path never holds a space, so `GET database/creds/x` can never be the same store
// request as `secrets "database/creds/x" backend="vault"`, and `check` and /v1/status read it as what is sent.
/** `GET database/creds/api-server`, `PUT pki/issue/api-server common_name="api.dsta.internal" ttl="72h"`. */
export function callIdentity(path: string, params: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(params).sort();
  const method = keys.length === 0 ? 'GET' : 'PUT';
  return [`${method} ${path}`, ...keys.map((key) => `${key}=${JSON.stringify(params[key])}`)].join(' ');
}

/** The call an identity stands for, or undefined when `identity` is not one (a KV path). */
export function parseCallIdentity(identity: string): VaultCall | undefined {
  const head = IDENTITY.exec(identity);
  if (!head) return undefined;
  const method = head[1] as 'GET' | 'PUT';
  const path = head[2] ?? '';
  const params: Record<string, CallParam> = {};
  let rest = identity.slice(head[0].length);
  while (rest.startsWith(' ')) {
    const pair = /^ ([A-Za-z_][A-Za-z0-9_]*)=/.exec(rest);
    if (!pair) return undefined;
    const key = pair[1] ?? '';
    rest = rest.slice(pair[0].length);
    const value = readJson(rest);
    if (value === undefined) return undefined;
    params[key] = value.value;
    rest = rest.slice(value.length);
  }
  if (rest !== '') return undefined;
  return { method, path, params };
}

/** The JSON literal at the start of `text` (a string, number or boolean) and how many characters it took. */
function readJson(text: string): { value: CallParam; length: number } | undefined {
  const match = /^("(?:[^"\\]|\\.)*"|true|false|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text);
  if (!match?.[1]) return undefined;
  return { value: JSON.parse(match[1]) as CallParam, length: match[1].length };
}

/** True when a store request path is a `vault` helper call. */
export function isCallIdentity(path: string): boolean {
  return IDENTITY.test(path);
}
