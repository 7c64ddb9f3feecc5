// Each error code Secrets Manager documents for the agent's reads maps to one class for the chain, whether it
// arrives as an exception or as a batch `Errors` entry; answers that are not the service's own (a proxy's 404)
// are unavailable, never not found; a batch-wide "not found" is never pinned on every secret of the call.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorOf } from './outcome.js';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createAwsBackend } from '../../agent/backends/aws.js';
import type { ErrorClass } from '../../agent/backends/aws/failure.js';
import { classifyCode, ERROR_CLASSES } from '../../agent/backends/aws/failure.js';
import { isAgentError } from '../../agent/errors.js';
import type { AwsEmulator } from '../fakes/aws/emulator.js';
import { EMULATOR_CREDENTIALS } from '../fakes/aws/emulator.js';
import { emulated, fixture, memoryLog, onEmulator } from './aws/harness.js';

const emulatorOnly = onEmulator ? test : test.skip;
const DELETED = "You can't perform this operation on the secret because it was marked for deletion.";

/** The documented codes with a message the service sends (or could send) and the class each must have. */
const DOCUMENTED: readonly (readonly [code: string, message: string, expected: ErrorClass, status?: number])[] = [
  ['ResourceNotFoundException', "Secrets Manager can't find the specified secret.", 'not_found'],
  ['InvalidRequestException', DELETED, 'not_found'],
  ['InvalidRequestException', 'You can’t perform this operation on the secret because it was marked for deletion.', 'not_found'],
  ['InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.', 'unavailable'],
  ['InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.", 'unavailable'],
  ['InvalidRequestException', 'The KMS key was marked for deletion.', 'unavailable'],
  ['InvalidParameterException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!', 'error'],
  ['DecryptionFailure', 'Access to KMS is not allowed', 'denied'],
  ['InternalServiceError', 'An error occurred on the server side.', 'unavailable', 500],
  ['InvalidNextTokenException', 'The NextToken value is invalid.', 'unavailable'],
  ['AccessDeniedException', 'User: arn:aws:iam::123456789012:user/x is not authorized to perform: secretsmanager:GetSecretValue', 'denied'],
  ['NotAuthorized', 'You do not have permission to perform this action.', 'denied'],
  ['OptInRequired', 'The AWS access key ID needs a subscription for the service.', 'denied', 403],
  ['UnrecognizedClientException', 'The security token included in the request is invalid.', 'denied'],
  ['InvalidClientTokenId', 'The security token included in the request is invalid.', 'denied', 403],
  ['ExpiredTokenException', 'The security token included in the request is expired', 'denied'],
  ['InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.', 'denied'],
  ['IncompleteSignature', 'The request signature does not conform to AWS standards.', 'denied'],
  ['IncompleteSignatureException', 'The request signature does not conform to AWS standards.', 'denied'],
  ['MissingAuthenticationTokenException', 'Missing Authentication Token', 'denied'],
  ['RequestExpired', 'Request has expired.', 'unavailable'],
  ['ThrottlingException', 'Rate exceeded', 'unavailable'],
  ['LimitExceededException', 'You have exceeded a quota.', 'unavailable'],
  ['InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 'unavailable', 500],
  ['ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', 'unavailable', 503],
  ['ValidationError', 'The input fails to satisfy the constraints specified by an AWS service.', 'error'],
  ['ValidationException', '1 validation error detected', 'error'],
  ['SerializationException', 'Start of structure or map found where not expected.', 'error'],
  ['UnknownOperationException', 'Unknown operation', 'error'],
  ['InvalidAction', 'The action or operation requested is invalid.', 'error'],
  ['SomeCodeAwsAddsLater', 'anything', 'unavailable'],
];

const site = { operation: 'GetSecretValue', region: 'us-east-1', secretId: 'dsta/app' };

test('each documented code maps to its class, as an exception code and as a batch Errors entry', (t) => {
  for (const [code, message, expected] of DOCUMENTED) t.is(classifyCode(code, message, site).status, expected, `${code}: ${message}`);
  for (const code of Object.keys(ERROR_CLASSES)) t.true(DOCUMENTED.some(([listed]) => listed === code), `${code} is in the table but not in this test`);
  t.is(classifyCode('com.amazonaws.secretsmanager#ResourceNotFoundException', '', site).status, 'not_found', 'a namespaced code is read as the SDK reads __type');
  t.is(classifyCode('ValidationException', DELETED, site).status, 'error', 'the deletion sentence counts only with InvalidRequestException');
});

test('the class of a code is explained: the error class carries its reason in ERR_BACKEND_RESPONSE', (t) => {
  for (const entry of Object.values(ERROR_CLASSES)) t.true(entry.why.length > 10);
  const failure = classifyCode('InvalidParameterException', 'Invalid name.', site);
  t.is(failure.status, 'error');
  if (failure.status === 'error') {
    t.is(failure.error.code, 'ERR_BACKEND_RESPONSE');
    t.regex(failure.error.message, /^aws backend: secret "dsta\/app" in us-east-1: InvalidParameterException: Invalid name\. \(the service rejects the request the agent built/);
  }
});

/** A backend on a client that makes one attempt, so each scripted error is answered exactly once. */
function singleAttempt(t: ExecutionContext, aws: AwsEmulator) {
  const client = new SecretsManagerClient({ region: aws.region, endpoint: aws.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(() => { client.destroy(); });
  return createAwsBackend({ config: { region: aws.region, prefix: 'dsta/', versionStage: 'AWSCURRENT' }, log: memoryLog().log, client });
}

emulatorOnly('each documented code, sent over the wire and read by the real SDK, gives its class to the chain', async (t) => {
  const f = await fixture(t);
  const aws = emulated(f);
  const backend = singleAttempt(t, aws);
  for (const [code, message, expected, status] of DOCUMENTED) {
    aws.faults.errors.push({ code, message, ...(status === undefined ? {} : { status }) });
    const label = `${code}: ${message}`;
    if (expected === 'error') {
      const error = await errorOf(backend.fetch({ kind: 'map', path: 'app' }));
      t.true(isAgentError(error, 'ERR_BACKEND_RESPONSE'), label);
    } else {
      t.is((await backend.fetch({ kind: 'map', path: 'app' })).status, expected, label);
    }
  }
  t.is(aws.faults.errors.length, 0);
});

emulatorOnly('an HTML 404 from a proxy is unavailable, through fetch and fetchMany, and the page is never quoted', async (t) => {
  const f = await fixture(t);
  const aws = emulated(f);
  await f.seed('app', { secret_key: 'k' });
  await f.seed('db', { password: 'p' });
  const backend = f.backend();
  aws.faults.proxyNotFound = 1;
  t.deepEqual(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'unavailable', reason: 'secret "dsta/app" in us-east-1: Secrets Manager answered HTTP 404 with a body that is not JSON (a proxy or load balancer in between?)' });
  t.is(aws.counters['GetSecretValue'], 1, 'a 404 is not retried, and the plain secret is not tried after it');
  aws.faults.proxyNotFound = 1;
  const outcomes = await backend.fetchMany([{ kind: 'value', path: 'app/secret_key' }, { kind: 'map', path: 'db' }]);
  t.deepEqual([...outcomes.values()].map((outcome) => outcome.status), ['unavailable', 'unavailable']);
  t.false(JSON.stringify([...outcomes.values()]).includes('nginx'));
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'k' }, 'the proxy fault was used up');
});

/** A local server that answers every request with one fixed response. */
async function answering(t: ExecutionContext, status: number, type: string, body: string): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(status, { 'content-type': type }); res.end(body); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { server.close(); });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function backendAt(t: ExecutionContext, endpoint: string) {
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS });
  t.teardown(() => { client.destroy(); });
  return createAwsBackend({ config: { region: 'us-east-1', prefix: '', versionStage: 'AWSCURRENT' }, log: memoryLog().log, client });
}

test('a JSON 404 without an AWS error code (an API gateway, a proxy) is unavailable and its text is not quoted', async (t) => {
  const backend = backendAt(t, await answering(t, 404, 'application/json', '{"message":"no route s3cr3t"}'));
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'app' }), { status: 'unavailable', reason: 'secret "app" in us-east-1: Secrets Manager answered HTTP 404 with an error that names no AWS error code (a proxy or load balancer in between?)' });
});

test('a 404 that carries ResourceNotFoundException is the service\'s own answer (as moto sends it): not found', async (t) => {
  const backend = backendAt(t, await answering(t, 404, 'application/x-amz-json-1.1', '{"__type":"ResourceNotFoundException","Message":"Secrets Manager can\'t find the specified secret."}'));
  t.like(await backend.fetch({ kind: 'map', path: 'app' }), { status: 'not_found' });
});

emulatorOnly('a not found for a whole BatchGetSecretValue call is not pinned on its secrets: each is asked on its own', async (t) => {
  const f = await fixture(t);
  const aws = emulated(f);
  await f.seed('a', { k: 'a1' });
  await f.seed('b', { k: 'b1' });
  aws.faults.errors.push({ code: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
  const outcomes = await f.backend().fetchMany([{ kind: 'value', path: 'a/k' }, { kind: 'value', path: 'b/k' }, { kind: 'map', path: 'missing' }]);
  t.like(outcomes.get('value:a/k'), { status: 'found', data: 'a1' });
  t.like(outcomes.get('value:b/k'), { status: 'found', data: 'b1' });
  t.like(outcomes.get('map:missing'), { status: 'not_found' });
  t.is(f.calls['BatchGetSecretValue'], 1);
  t.is(f.calls['GetSecretValue'], 3);
});
