// Failures as the chain needs them: throttling retried by the SDK, persistent 5xx and network errors
// unavailable, bad identities denied, a malformed 200 an ERR_BACKEND_RESPONSE whose message quotes no body.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorOf } from './outcome.js';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createAwsBackend } from '../../agent/backends/aws.js';
import { isAgentError } from '../../agent/errors.js';
import { EMULATOR_CREDENTIALS } from '../fakes/aws/emulator.js';
import { emulated, fixture, memoryLog, onEmulator } from './aws/harness.js';

const emulatorOnly = onEmulator ? test : test.skip;
const ref = { kind: 'value', path: 'exchange/binance/api_key' } as const;

/** A local server that answers every request with one fixed response: a proxy, a captive portal. */
async function answering(t: ExecutionContext, status: number, body: string): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(status, { 'content-type': 'text/html' }); res.end(body); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { server.close(); });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A backend on a client of its own, pointed at `endpoint`. */
function backendAt(t: ExecutionContext, endpoint: string, region = 'us-east-1', prefix = 'dsta/') {
  const client = new SecretsManagerClient({ region, endpoint, credentials: EMULATOR_CREDENTIALS });
  t.teardown(() => { client.destroy(); });
  return createAwsBackend({ config: { region, prefix, versionStage: 'AWSCURRENT' }, log: memoryLog().log, client });
}

emulatorOnly('throttling is retried by the SDK and then succeeds', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/binance', { api_key: 'k' });
  emulated(f).faults.throttle = 2;
  t.like(await f.backend().fetch(ref), { status: 'found', data: 'k' });
  t.is(emulated(f).counters['GetSecretValue'], 3, 'two throttled attempts, then the third answered');
  t.is(f.calls['GetSecretValue'], 1, 'one command: the retries are the SDK\'s own');
});

emulatorOnly('persistent 5xx is unavailable after the SDK\'s attempts, naming the secret and region', async (t) => {
  const f = await fixture(t);
  emulated(f).faults.serverErrors = Infinity;
  const outcome = await f.backend().fetch(ref);
  t.deepEqual(outcome, { status: 'unavailable', reason: 'secret "dsta/exchange/binance" in us-east-1: InternalServiceError: An error occurred on the server side. (HTTP 500) (after 3 attempts)' });
  t.is(emulated(f).counters['GetSecretValue'], 3);
});

emulatorOnly('throttling that outlasts the SDK\'s retries is unavailable', async (t) => {
  const f = await fixture(t);
  emulated(f).faults.throttle = Infinity;
  const outcome = await f.backend().fetch(ref);
  t.is(outcome.status, 'unavailable');
  t.regex(outcome.status === 'unavailable' ? outcome.reason : '', /ThrottlingException: Rate exceeded \(HTTP 400\) \(after 3 attempts\)/);
});

emulatorOnly('a batch-wide 5xx makes every secret of that call unavailable, each named', async (t) => {
  const f = await fixture(t);
  emulated(f).faults.serverErrors = Infinity;
  const outcomes = await f.backend().fetchMany([ref, { kind: 'map', path: 'app' }]);
  t.regex(JSON.stringify(outcomes.get('map:app')), /"unavailable".*secret \\"dsta\/app\\" in us-east-1 \(BatchGetSecretValue\): InternalServiceError/);
  t.is(outcomes.get(`value:${ref.path}`)?.status, 'unavailable');
});

emulatorOnly('an access key the service does not know is denied, never a fallback', async (t) => {
  const f = await fixture(t);
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: emulated(f).endpoint, credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' } });
  t.teardown(() => { client.destroy(); });
  const outcome = await createAwsBackend({ config: { region: 'us-east-1', prefix: 'dsta/', versionStage: 'AWSCURRENT' }, log: f.log, client }).fetch(ref);
  t.deepEqual(outcome, { status: 'denied', reason: 'secret "dsta/exchange/binance" in us-east-1: UnrecognizedClientException: The security token included in the request is invalid.' });
});

emulatorOnly('a wrong secret key fails the signature and is denied', async (t) => {
  const f = await fixture(t);
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: emulated(f).endpoint, credentials: { ...EMULATOR_CREDENTIALS, secretAccessKey: 'wrong' } });
  t.teardown(() => { client.destroy(); });
  const outcome = await createAwsBackend({ config: { region: 'us-east-1', prefix: 'dsta/', versionStage: 'AWSCURRENT' }, log: f.log, client }).fetch(ref);
  t.like(outcome, { status: 'denied' });
  t.regex(outcome.status === 'denied' ? outcome.reason : '', /InvalidSignatureException/);
});

emulatorOnly('GetSecretValue denied by policy is denied, and the plain secret is not tried', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/binance/api_key', 'plain');
  emulated(f).faults.deny.add('dsta/exchange/binance');
  const outcome = await f.backend().fetch(ref);
  t.is(outcome.status, 'denied');
  t.is(f.calls['GetSecretValue'], 1);
});

test('a closed port is unavailable after the SDK\'s retries, naming host and port', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  const backend = backendAt(t, `http://127.0.0.1:${port}`, 'eu-west-1', '');
  const outcome = await backend.fetch({ kind: 'map', path: 'app' });
  t.deepEqual(outcome, { status: 'unavailable', reason: `secret "app" in eu-west-1: cannot reach Secrets Manager: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port} (after 3 attempts)` });
  t.false(await backend.isAvailable());
});

test('a 200 whose body is not JSON is ERR_BACKEND_RESPONSE, and the body never reaches the message', async (t) => {
  const backend = backendAt(t, await answering(t, 200, '<html>leaked-value-s3cr3t</html>'));
  const error = await errorOf(backend.fetch(ref));
  t.true(isAgentError(error, 'ERR_BACKEND_RESPONSE'));
  t.regex(error.message, /secret "dsta\/exchange\/binance" in us-east-1: GetSecretValue answered HTTP 200 with a body that is not the JSON/);
  t.false(JSON.stringify({ message: error.message, details: isAgentError(error) ? error.details : {} }).includes('s3cr3t'));
  const many = await backend.fetchMany([ref, { kind: 'map', path: 'app' }]);
  t.deepEqual([...many.values()].map((outcome) => outcome.status), ['error', 'error'], 'each is its error outcome, never read again alone');
});

test('isAvailable is true when the service answers for this identity, even with nothing stored', async (t) => {
  const f = await fixture(t);
  t.true(await f.backend().isAvailable());
});

test('a 502 error page from a proxy is unavailable, reporting the status and never the page', async (t) => {
  const backend = backendAt(t, await answering(t, 502, '<html>bad gateway s3cr3t</html>'), 'us-east-1', '');
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'app' }), { status: 'unavailable', reason: 'secret "app" in us-east-1: Secrets Manager answered HTTP 502 with a body that is not JSON (a proxy or load balancer in between?) (after 3 attempts)' });
});
