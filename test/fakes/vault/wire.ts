// The bytes a Vault server puts on the wire (docs/vault.md): the response envelope with its fields in the
// server's struct order, map keys sorted as Go's encoding/json sorts them, error bodies, and request parsing.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** One request as the emulator's routes see it. */
export interface VaultRequest {
  readonly method: string;
  /** The logical path after `/v1/`, each segment percent-decoded, without the query: `secret/data/a&b`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** `?list=true` (any Go ParseBool truth) on a GET. */
  readonly list: boolean;
  readonly token: string | undefined;
  /** `X-Vault-Namespace` without slashes at the ends; "" for the root namespace. */
  readonly namespace: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown> | undefined;
}

/** What a route answers: a status and a JSON body, or no body at all (`undefined`: 204s and bare 404s). */
export interface VaultReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

// Why: Vault reads `list` with Go's strconv.ParseBool; anything else is a 400 with an empty error list.
/** true/false for a Go boolean string, undefined when it does not parse. */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return undefined;
}

// Why: Go encodes map[string]interface{} with sorted keys; struct fields keep declaration order.
/** A copy of a JSON value whose plain-object keys are sorted at every depth. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

export interface EnvelopeFields {
  lease_id?: string;
  renewable?: boolean;
  lease_duration?: number;
  data?: unknown;
  warnings?: string[] | null;
  auth?: unknown;
  mount_type?: string;
}

// Why: the emulator always sends the full `logical.HTTPResponse`, as Vault does.
/** The standard success envelope, fields in Vault's order, `data` keys sorted. */
export function envelope(fields: EnvelopeFields): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: fields.lease_id ?? '',
    renewable: fields.renewable ?? false,
    lease_duration: fields.lease_duration ?? 0,
    data: fields.data === undefined ? null : sortKeys(fields.data),
    wrap_info: null,
    warnings: fields.warnings ?? null,
    auth: fields.auth ?? null,
    mount_type: fields.mount_type ?? '',
  };
}

/** `200` with the envelope. */
export function ok(fields: EnvelopeFields): VaultReply {
  return { status: 200, body: envelope(fields) };
}

/** An error reply: `{"errors":[...]}`, the array empty when no message is given (RespondError). */
export function fail(status: number, ...messages: string[]): VaultReply {
  return { status, body: { errors: messages } };
}

export const noContent: VaultReply = { status: 204 };
export const denied = (): VaultReply => fail(403, 'permission denied');
export const invalidToken = (): VaultReply => fail(403, '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n');
export const missing = (): VaultReply => fail(404);

/** Read the request body as Vault does: JSON, else form-encoded, empty allowed; undefined marks bad JSON. */
export async function readBody(request: IncomingMessage): Promise<{ body: Record<string, unknown> | undefined; bad: boolean }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { body: undefined, bad: false };
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null ? { body: parsed as Record<string, unknown>, bad: false } : { body: undefined, bad: true };
    } catch {
      return { body: undefined, bad: true };
    }
  }
  return { body: Object.fromEntries(new URLSearchParams(text)), bad: false };
}

/** The logical path of a raw URL path: `/v1/a%26b/c` → `a&b/c`; undefined outside `/v1/`. */
export function logicalPath(pathname: string): string | undefined {
  if (!pathname.startsWith('/v1/')) return undefined;
  try {
    return pathname.slice(4).split('/').map((segment) => decodeURIComponent(segment)).join('/');
  } catch {
    return undefined;
  }
}

/** Vault's RFC 3339 time for an epoch-millisecond instant. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
