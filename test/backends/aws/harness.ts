// Where the AWS integration suite runs: the offline emulator (default), an endpoint such as LocalStack
// (AWS_TEST_ENDPOINT), or real AWS (AWS_TEST_REAL=1, credentials from the default chain). Each test gets its
// own fixture: a counted SDK client, an in-memory log, a backend factory, and a seeding helper.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { CreateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { ExecutionContext } from 'ava';
import pino from 'pino';
import type { Logger } from 'pino';
import type { AwsBackend } from '../../../agent/backends/aws.js';
import { createAwsBackend } from '../../../agent/backends/aws.js';
import type { Config } from '../../../agent/config/schema.js';
import type { AwsEmulator } from '../../fakes/aws/emulator.js';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../../fakes/aws/emulator.js';

export type Mode = 'emulator' | 'endpoint' | 'real';
export const mode: Mode = process.env['AWS_TEST_ENDPOINT'] ? 'endpoint' : process.env['AWS_TEST_REAL'] === '1' ? 'real' : 'emulator';
export const onEmulator = mode === 'emulator';

if (mode !== 'real') {
  // Offline by construction: no instance metadata, no profile or shared files of the machine running the tests.
  process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
  process.env['AWS_CONFIG_FILE'] = '/nonexistent/secrets-agent-test/config';
  process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/secrets-agent-test/credentials';
  for (const name of ['AWS_PROFILE', 'AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) Reflect.deleteProperty(process.env, name);
}

const run = randomBytes(4).toString('hex');
let serial = 0;

export interface Fixture {
  /** Prepended to every secret name: `dsta/` on the emulator, `dsta/it-<run>-<n>/` elsewhere. */
  readonly prefix: string;
  readonly region: string;
  /** Only on the emulator: faults, counters and direct seeding. */
  readonly emulator: AwsEmulator | undefined;
  /** Commands sent by the backend's client, by name (client-side, so it works against real AWS too). */
  readonly calls: Record<string, number>;
  /** Every log line the backend wrote (JSON text). */
  readonly logs: string[];
  readonly log: Logger;
  readonly client: SecretsManagerClient;
  backend(config?: Partial<Config['aws']>): AwsBackend;
  /** Create or update the secret `<prefix><name>`; objects are stored as JSON. */
  seed(name: string, value: string | Uint8Array | Record<string, unknown>): Promise<{ versionId: string }>;
}

/** Why: the emulator needs explicit endpoint and static keys; LocalStack takes any keys; real AWS uses the chain. */
function clientConfig(endpoint: string | undefined, region: string): SecretsManagerClientConfig {
  if (mode === 'real') return { region };
  const credentials = mode === 'emulator' ? EMULATOR_CREDENTIALS : { accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? 'test', secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'test' };
  return { region, credentials, ...(endpoint === undefined ? {} : { endpoint }) };
}

/** Why: counting in the client's initialize step counts commands, whatever the server is. */
export function countCalls(client: SecretsManagerClient): Record<string, number> {
  const calls: Record<string, number> = {};
  client.middlewareStack.add((next, context) => (args) => {
    const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
    calls[name] = (calls[name] ?? 0) + 1;
    return next(args);
  }, { step: 'initialize', name: 'secretsAgentTestCounter' });
  return calls;
}

/** An in-memory pino logger and the lines it wrote. */
export function memoryLog(): { log: Logger; logs: string[] } {
  const logs: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _encoding, done) { logs.push(...chunk.toString('utf8').split('\n').filter((line) => line !== '')); done(); } });
  return { log: pino({ level: 'trace' }, stream), logs };
}

/** A fresh, isolated setup for one test; torn down with the test. */
export async function fixture(t: ExecutionContext): Promise<Fixture> {
  const emulator = onEmulator ? await startAwsEmulator() : undefined;
  const region = emulator?.region ?? process.env['AWS_TEST_REGION'] ?? process.env['AWS_REGION'] ?? 'us-east-1';
  const endpoint = emulator?.endpoint ?? process.env['AWS_TEST_ENDPOINT'];
  const prefix = onEmulator ? 'dsta/' : `dsta/it-${run}-${(serial += 1)}/`;
  const client = new SecretsManagerClient(clientConfig(endpoint, region));
  const seeder = new SecretsManagerClient(clientConfig(endpoint, region));
  const calls = countCalls(client);
  const { log, logs } = memoryLog();
  const created = new Set<string>();
  t.teardown(async () => {
    await Promise.all([...created].map((name) => seeder.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })).catch(() => undefined)));
    client.destroy();
    seeder.destroy();
    await emulator?.close();
  });
  return {
    prefix, region, emulator, calls, logs, log, client,
    backend: (config = {}) => createAwsBackend({ config: { region, prefix, versionStage: 'AWSCURRENT', ...config }, log, client }),
    async seed(name, value) {
      const full = `${prefix}${name}`;
      if (emulator) return { versionId: emulator.putSecret(full, value).versionId };
      const body = value instanceof Uint8Array ? { SecretBinary: value } : { SecretString: typeof value === 'string' ? value : JSON.stringify(value) };
      if (created.has(full)) return { versionId: (await seeder.send(new PutSecretValueCommand({ SecretId: full, ...body }))).VersionId ?? '' };
      created.add(full);
      return { versionId: (await seeder.send(new CreateSecretCommand({ Name: full, ...body }))).VersionId ?? '' };
    },
  };
}

/** The fixture's emulator, for tests that run only on it (faults, counters, direct seeding). */
export function emulated(f: Fixture): AwsEmulator {
  if (!f.emulator) throw new Error('this test needs the emulator; skip it when AWS_TEST_ENDPOINT or AWS_TEST_REAL is set');
  return f.emulator;
}

/** Track a secret the code under test creates (remote runs delete it afterwards). */
export function created(t: ExecutionContext, f: Fixture, name: string): void {
  if (onEmulator) return;
  t.teardown(() => f.client.send(new DeleteSecretCommand({ SecretId: `${f.prefix}${name}`, ForceDeleteWithoutRecovery: true })).then(() => undefined, () => undefined));
}
