// The awsJson1.1 wire format as Secrets Manager speaks it: JSON bodies, epoch-second dates with a fraction,
// base64 blobs, fields without a value omitted, errors as `__type` + `X-Amzn-ErrorType`.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export const JSON_1_1 = 'application/x-amz-json-1.1';

/** An error the emulator answers with: a code, a message and the HTTP status real AWS uses (400, or 500). */
export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Why: the SDK reads dates as epoch seconds and blobs as base64, and AWS omits empty fields. */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return Math.round(value.getTime()) / 1000;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) if (member !== undefined) out[key] = toWire(member);
    return out;
  }
  return value;
}

/** Why: every answer carries the JSON 1.1 media type and a request id, as the service's do. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(toWire(body));
  res.writeHead(status, {
    'content-type': JSON_1_1,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

/** Why: the SDK has read the code from the header (older clients) and from `__type` (current): send both. */
export function sendFault(res: ServerResponse, fault: AwsFault): void {
  sendJson(res, fault.status, { __type: fault.code, Message: fault.message }, { 'x-amzn-errortype': fault.code });
}

/** Why: a required member that is absent or of the wrong type is the client's error, answered as AWS does. */
export function requireString(input: Record<string, unknown>, member: string, max = 2048): string {
  const value = input[member];
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new AwsFault('InvalidParameterException', `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must be a string of length 1 to ${max}`);
  }
  return value;
}

/** Why: optional members are checked for type too, so a malformed request never reaches the model. */
export function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AwsFault('InvalidParameterException', `1 validation error detected: Value at '${member}' must be a string`);
  return value;
}

/** Why: SecretBinary travels as base64; a string that is not base64 is a serialization error, not data. */
export function optionalBlob(input: Record<string, unknown>, member: string): Buffer | undefined {
  const value = optionalString(input, member);
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw new AwsFault('SerializationException', `${member} is not valid base64`);
  return Buffer.from(value, 'base64');
}
