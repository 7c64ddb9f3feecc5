// What a stored secret holds, as the agent reads it: SecretString as is, SecretBinary as UTF-8 text (or a
// data error that says it is not text), and, for JSON secrets, an object whose values become strings.
import { AgentError } from '../../errors.js';
import type { CallSite } from './site.js';
import { subject } from './site.js';

/** One secret version as GetSecretValue and BatchGetSecretValue return it. */
export interface StoredValue {
  readonly id: string;
  readonly versionId?: string | undefined;
  /** When this version was created (CreatedDate). */
  readonly createdDate?: Date | undefined;
  readonly secretString?: unknown;
  readonly secretBinary?: unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why: one place where a malformed or non-text value becomes the AgentError that names the secret, never its bytes. */
export function secretText(stored: StoredValue, region: string): string {
  const site: CallSite = { operation: 'GetSecretValue', region, secretId: stored.id };
  const details = { backend: 'aws', region, secretId: stored.id };
  if (typeof stored.secretString === 'string') return stored.secretString;
  if (stored.secretBinary instanceof Uint8Array) {
    try {
      return utf8.decode(stored.secretBinary);
    } catch {
      throw new AgentError('ERR_BACKEND_DATA', `aws backend: ${subject(site)} holds SecretBinary (${stored.secretBinary.byteLength} bytes) that is not valid UTF-8 text, so it cannot be rendered; store text in SecretString (base64-encode binary data and use the base64Decode helper)`, { details });
    }
  }
  throw new AgentError('ERR_BACKEND_RESPONSE', `aws backend: ${subject(site)} came back without a SecretString or SecretBinary of the expected type`, { details });
}

/** The JSON object in `text`, or undefined when it is not one. The parser's message quotes the text, so it is dropped. */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/** Why: templates take strings; numbers, booleans, null and nested JSON are written as their JSON text. */
export function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Every key of a JSON object as a string; built with fromEntries so a `__proto__` key stays an own key. */
export function stringMap(object: Record<string, unknown>): Readonly<Record<string, string>> {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, stringify(value)]));
}

/** Why: the data error for a secret that should be a JSON object says what to do instead. */
export function notAnObject(stored: StoredValue, region: string, wanted: { key?: string | undefined; plain?: string | undefined }): AgentError {
  const site: CallSite = { operation: 'GetSecretValue', region, secretId: stored.id };
  const hint = wanted.key === undefined
    ? 'so it cannot be read as a map of keys; store a JSON object such as {"key": "value"}'
    : `so key "${wanted.key}" cannot be read from it; store a JSON object there${wanted.plain === undefined ? '' : `, or store the value alone as secret "${wanted.plain}" and delete this one`}`;
  return new AgentError('ERR_BACKEND_DATA', `aws backend: ${subject(site)} is not a JSON object, ${hint}`, { details: { backend: 'aws', region, secretId: stored.id, key: wanted.key } });
}
