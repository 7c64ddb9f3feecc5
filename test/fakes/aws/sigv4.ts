// SigV4 checked the way the service checks it: a known access key (else UnrecognizedClientException), a
// scope of this region and `secretsmanager`, and a signature recomputed from the request and the secret key.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsFault } from './wire.js';

export interface EmulatorCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Why: header values are trimmed and inner runs of spaces collapsed before they are signed. */
function canonicalHeader(headers: IncomingHttpHeaders, name: string): string {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
}

/** Why: HMAC chained over date, region, service and "aws4_request" is the SigV4 signing key. */
function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** Throws the AWS error for a request that is not signed by one of `known` for `region`; returns the key id. */
export function verifySignature(request: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer }, region: string, known: readonly EmulatorCredentials[]): string {
  const authorization = request.headers['authorization'];
  if (authorization === undefined) throw new AwsFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const match = AUTH.exec(authorization);
  const amzDate = request.headers['x-amz-date'];
  if (!match || typeof amzDate !== 'string') throw new AwsFault('IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature, and X-Amz-Date must be set.');
  const [, keyId = '', date = '', scopeRegion = '', service = '', signed = '', signature = ''] = match;
  const credentials = known.find((candidate) => candidate.accessKeyId === keyId);
  if (!credentials) throw new AwsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== 'secretsmanager') throw new AwsFault('InvalidSignatureException', "Credential should be scoped to correct service: 'secretsmanager'.");
  if (scopeRegion !== region) throw new AwsFault('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  const names = signed.split(';');
  if (!names.includes('host')) throw new AwsFault('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const canonical = [
    request.method,
    request.path,
    '',
    names.map((name) => canonicalHeader(request.headers, name)).join(''),
    signed,
    createHash('sha256').update(request.body).digest('hex'),
  ].join('\n');
  const scope = `${date}/${scopeRegion}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const expected = createHmac('sha256', signingKey(credentials.secretAccessKey, date, scopeRegion, service)).update(toSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new AwsFault('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return keyId;
}
