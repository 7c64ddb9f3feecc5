// An offline AWS Secrets Manager that the real @aws-sdk/client-secrets-manager talks to over HTTP: awsJson1.1
// on POST /, SigV4 checked, version stages, scheduled deletion and RestoreSecret, fault switches (batch denied,
// throttling, 5xx, a proxy's HTML 404, any scripted error code) and per-operation counters. Tests seed it
// directly with putSecret(); everything else goes through the wire.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { operations } from './operations.js';
import type { EmulatorCredentials } from './sigv4.js';
import { verifySignature } from './sigv4.js';
import { SecretsState } from './state.js';
import type { SecretValue } from './state.js';
import { AwsFault, JSON_1_1, sendFault, sendJson } from './wire.js';

export type { EmulatorCredentials } from './sigv4.js';

/** The static identity tests sign with; any other access key is UnrecognizedClientException. */
export const EMULATOR_CREDENTIALS: EmulatorCredentials = { accessKeyId: 'AKIAEMULATOR00000001', secretAccessKey: 'emulator/secret+access/key' };

export interface AwsFaults {
  /** BatchGetSecretValue answers AccessDeniedException (many IAM policies grant only GetSecretValue). */
  denyBatch: boolean;
  /** Secret names the caller may not read or write: AccessDeniedException, per secret in a batch. */
  readonly deny: Set<string>;
  /** The next N requests answer ThrottlingException "Rate exceeded" (400); Infinity for always. */
  throttle: number;
  /** The next N requests answer InternalServiceError (500); Infinity for always. */
  serverErrors: number;
  /**
   * The next N requests are answered by a proxy in front of the service, not by Secrets Manager: HTTP 404 with
   * an HTML page, no `__type`, no `X-Amzn-ErrorType`, no request id (a wrong path on an ingress, a captive portal).
   */
  proxyNotFound: number;
  /** Answer the next requests with these errors, one each, in order (after the signature check): any code, as the service sends it. */
  readonly errors: { code: string; message: string; status?: number }[];
}

export interface RecordedRequest {
  readonly operation: string;
  readonly headers: IncomingHttpHeaders;
}

export interface AwsEmulatorOptions {
  region?: string;
  credentials?: readonly EmulatorCredentials[];
  /** The service's clock, for CreatedDate/LastChangedDate. */
  now?: () => Date;
}

export interface AwsEmulator {
  /** `http://127.0.0.1:<port>`: pass as the client's `endpoint` or AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly endpoint: string;
  readonly region: string;
  readonly faults: AwsFaults;
  /** Requests received per operation (every attempt, faulted ones too), e.g. counters.BatchGetSecretValue. */
  readonly counters: Record<string, number>;
  /** Every request's operation and headers, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Seed: create the secret or add a version (AWSCURRENT by default). Objects are stored as JSON text. */
  putSecret(name: string, value: string | Uint8Array | Record<string, unknown>, options?: { stages?: string[]; lastRotated?: Date }): { arn: string; versionId: string };
  /** The stored versions of a secret, for assertions: id → { stages, value }. */
  versions(name: string): { id: string; stages: string[]; value: string | Buffer }[];
  close(): Promise<void>;
}

/** The page a reverse proxy (nginx here) sends for a path it does not route: what `faults.proxyNotFound` answers. */
const PROXY_NOT_FOUND = '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** Why: the SDK's JSON body is small; read it whole before signing checks need its hash. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Why: a protocol switch in a future SDK (smithy-rpc-v2-cbor) must fail loudly, not mysteriously. */
function checkProtocol(req: IncomingMessage): string {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
  if (req.method !== 'POST' || req.url !== '/' || type !== JSON_1_1) {
    throw new AwsFault('UnsupportedProtocolException', `emulator speaks awsJson1.1 only: expected POST / with content-type ${JSON_1_1}, got ${req.method ?? '?'} ${req.url ?? '?'} with content-type ${type ?? 'none'} - did the SDK switch protocols (e.g. to smithy-rpc-v2-cbor)?`);
  }
  const target = req.headers['x-amz-target'];
  const operation = typeof target === 'string' && target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : undefined;
  if (operation === undefined || !Object.hasOwn(operations, operation)) throw new AwsFault('UnknownOperationException', `emulator: unknown or unsupported X-Amz-Target ${String(target)}`);
  return operation;
}

/** Start an emulator on 127.0.0.1 and an ephemeral port. */
export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const region = options.region ?? 'us-east-1';
  const known = options.credentials ?? [EMULATOR_CREDENTIALS];
  const state = new SecretsState(region, '123456789012', options.now ?? (() => new Date()));
  const faults: AwsFaults = { denyBatch: false, deny: new Set(), throttle: 0, serverErrors: 0, proxyNotFound: 0, errors: [] };
  const counters: Record<string, number> = {};
  const requests: RecordedRequest[] = [];

  /** Why: faults are decided after the request is understood and counted, as a real throttle would be. */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const operation = checkProtocol(req);
    counters[operation] = (counters[operation] ?? 0) + 1;
    requests.push({ operation, headers: req.headers });
    if (faults.proxyNotFound > 0) {
      // A proxy answers before the service is reached: no signature check, none of the service's headers.
      faults.proxyNotFound -= 1;
      res.writeHead(404, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(PROXY_NOT_FOUND) });
      res.end(PROXY_NOT_FOUND);
      return;
    }
    verifySignature({ method: req.method ?? 'POST', path: req.url ?? '/', headers: req.headers, body }, region, known);
    const scripted = faults.errors.shift();
    if (scripted) throw new AwsFault(scripted.code, scripted.message, scripted.status);
    if (faults.serverErrors > 0) {
      faults.serverErrors -= 1;
      throw new AwsFault('InternalServiceError', 'An error occurred on the server side.', 500);
    }
    if (faults.throttle > 0) {
      faults.throttle -= 1;
      throw new AwsFault('ThrottlingException', 'Rate exceeded');
    }
    if (operation === 'BatchGetSecretValue' && faults.denyBatch) {
      throw new AwsFault('AccessDeniedException', `User: arn:aws:iam::${state.account}:user/emulator is not authorized to perform: secretsmanager:BatchGetSecretValue because no identity-based policy allows the secretsmanager:BatchGetSecretValue action`);
    }
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      throw new AwsFault('SerializationException', 'Start of structure or map found where not expected.');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new AwsFault('SerializationException', 'The request body must be a JSON object.');
    const handler = operations[operation];
    if (!handler) throw new AwsFault('UnknownOperationException', `emulator: no handler for ${operation}`);
    sendJson(res, 200, handler({ state, denied: faults.deny }, input as Record<string, unknown>));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      sendFault(res, error instanceof AwsFault ? error : new AwsFault('InternalServiceError', `emulator bug: ${(error as Error).message}`, 500));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    faults,
    counters,
    requests,
    putSecret(name, value, seed = {}) {
      const stored: SecretValue = typeof value === 'string' ? { string: value } : value instanceof Uint8Array ? { binary: Buffer.from(value) } : { string: JSON.stringify(value) };
      const existing = state.find(name);
      const secret = existing ?? state.create(name, undefined).secret;
      const version = state.put(secret, stored, { stages: seed.stages });
      if (seed.lastRotated) secret.lastRotated = seed.lastRotated;
      return { arn: secret.arn, versionId: version.id };
    },
    versions(name) {
      const secret = state.find(name);
      if (!secret) return [];
      return [...secret.versions.values()].map((version) => ({ id: version.id, stages: [...version.stages], value: 'string' in version.value ? version.value.string : version.value.binary }));
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
