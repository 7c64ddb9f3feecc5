// The SDK's own configuration, driven by the environment as in production: endpoint variables, the default
// credential chain, and the "no credentials" case, which is fast by construction (no instance metadata call).
// Serial: these tests change process.env, which the SDK reads when a client resolves its configuration.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { createAwsBackend } from '../../agent/backends/aws.js';
import { isAgentError } from '../../agent/errors.js';
import type { AwsEmulator } from '../fakes/aws/emulator.js';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import { memoryLog, onEmulator } from './aws/harness.js';

const serial = onEmulator ? test.serial : test.serial.skip;
const ref = { kind: 'value', path: 'exchange/binance/api_key' } as const;
const saved = { ...process.env };
let emulator: AwsEmulator;
let imdsRequests = 0;
const imds = createServer((req, res) => { imdsRequests += 1; req.resume(); res.writeHead(404).end(); });

test.before(async () => {
  emulator = await startAwsEmulator({ region: 'eu-central-1' });
  emulator.putSecret('dsta/exchange/binance', { api_key: 'from-env-endpoint' });
  imds.listen(0, '127.0.0.1');
  await once(imds, 'listening');
});

test.after.always(async () => {
  await emulator.close();
  imds.close();
});

test.afterEach.always(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, saved);
});

/** Why: a backend built like production: no client passed, everything from config and environment. */
function productionBackend(prefix = 'dsta/') {
  return createAwsBackend({ config: { region: 'eu-central-1', prefix, versionStage: 'AWSCURRENT' }, log: memoryLog().log });
}

/** Point the SDK's instance-metadata client at a local counting stand-in, so an attempt would be seen. */
function withoutCredentials(): void {
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) Reflect.deleteProperty(process.env, name);
  process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
  process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = emulator.endpoint;
}

serial('the SDK takes the endpoint from AWS_ENDPOINT_URL_SECRETS_MANAGER, the region from config and keys from the environment', async (t) => {
  process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = emulator.endpoint;
  process.env['AWS_ACCESS_KEY_ID'] = EMULATOR_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = EMULATOR_CREDENTIALS.secretAccessKey;
  const backend = productionBackend();
  t.teardown(() => backend.close());
  const before = emulator.requests.length;
  t.like(await backend.fetch(ref), { status: 'found', data: 'from-env-endpoint' });
  const signed = emulator.requests.slice(before).map((request) => request.headers['authorization'] ?? '');
  t.true(signed.length > 0 && signed.every((header) => header.includes('/eu-central-1/secretsmanager/aws4_request')));
});

serial('AWS_ENDPOINT_URL is used when the service-specific variable is unset, and loses to it when both are set', async (t) => {
  process.env['AWS_ACCESS_KEY_ID'] = EMULATOR_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = EMULATOR_CREDENTIALS.secretAccessKey;
  process.env['AWS_ENDPOINT_URL'] = emulator.endpoint;
  const general = productionBackend();
  t.teardown(() => general.close());
  t.like(await general.fetch(ref), { status: 'found' });
  process.env['AWS_ENDPOINT_URL'] = 'http://127.0.0.1:9';
  process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = emulator.endpoint;
  const specific = productionBackend();
  t.teardown(() => specific.close());
  t.like(await specific.fetch(ref), { status: 'found' });
});

serial('no credentials is ERR_NO_CREDENTIALS naming region, secret and every place the chain looked, without calling instance metadata', async (t) => {
  withoutCredentials();
  process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
  process.env['AWS_PROFILE'] = 'sidecar';
  const backend = productionBackend();
  t.teardown(() => backend.close());
  const before = { imds: imdsRequests, service: emulator.requests.length };
  const error = await t.throwsAsync(backend.fetch(ref));
  t.true(isAgentError(error, 'ERR_NO_CREDENTIALS'));
  const message = error.message;
  t.true(message.startsWith('aws backend: no AWS credentials to read secret "dsta/exchange/binance" in eu-central-1 (Could not load credentials from any providers).'));
  for (const part of ['AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (skipped because AWS_PROFILE is set)', 'profile "sidecar" in /nonexistent/secrets-agent-test/credentials and /nonexistent/secrets-agent-test/config', 'AWS_WEB_IDENTITY_TOKEN_FILE not set, AWS_ROLE_ARN not set', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI not set', 'skipped: AWS_EC2_METADATA_DISABLED is set', 'IRSA or EKS Pod Identity']) {
    t.true(message.includes(part), part);
  }
  t.is(imdsRequests, before.imds, 'instance metadata was never contacted');
  t.is(emulator.requests.length, before.service, 'nothing was sent unsigned');
  await t.throwsAsync(backend.fetchMany([ref, { kind: 'map', path: 'app' }]), { message: /no AWS credentials/ });
  t.false(await backend.isAvailable());
});

serial('the instance-metadata stand-in does see the chain when AWS_EC2_METADATA_DISABLED is unset (the check above can fail)', async (t) => {
  withoutCredentials();
  Reflect.deleteProperty(process.env, 'AWS_EC2_METADATA_DISABLED');
  const backend = productionBackend();
  t.teardown(() => backend.close());
  const before = imdsRequests;
  const error = await t.throwsAsync(backend.fetch(ref));
  t.true(isAgentError(error, 'ERR_NO_CREDENTIALS'));
  t.true(imdsRequests > before);
  t.regex(error.message, /EC2 instance metadata \(instance profile\): tried, no instance role answered/);
});
