// The emulator speaks the protocol the pinned SDK speaks, so a future SDK that changes its wire
// format (e.g. to smithy-rpc-v2-cbor) fails here, loudly, rather than somewhere mysterious.
import { BatchGetSecretValueCommand, DeleteSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, PutSecretValueCommand, RestoreSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import test from 'ava';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import type { AwsEmulator } from '../fakes/aws/emulator.js';

/** A fresh emulator and an SDK client signed with its keys, both closed with the test. */
async function setup(t: { teardown(fn: () => unknown): void }): Promise<{ emulator: AwsEmulator; client: SecretsManagerClient }> {
  const emulator = await startAwsEmulator({ now: () => new Date('2025-01-02T03:04:05.678Z') });
  const client = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: EMULATOR_CREDENTIALS });
  t.teardown(async () => { client.destroy(); await emulator.close(); });
  return { emulator, client };
}

/** Why: raw requests show exactly what goes over the wire, without the SDK's parsing in between. */
async function raw(emulator: AwsEmulator, init: { target?: string; type?: string; path?: string; body?: string }): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.endpoint}${init.path ?? '/'}`, {
    method: 'POST',
    headers: { 'content-type': init.type ?? 'application/x-amz-json-1.1', ...(init.target === undefined ? {} : { 'x-amz-target': init.target }) },
    body: init.body ?? '{}',
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

test('the pinned SDK sends POST / with awsJson1.1 headers and a SigV4 scope for secretsmanager', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/a', 'x');
  await client.send(new GetSecretValueCommand({ SecretId: 'dsta/a' }));
  const headers = emulator.requests[0]?.headers ?? {};
  t.is(headers['content-type'], 'application/x-amz-json-1.1');
  t.is(headers['x-amz-target'], 'secretsmanager.GetSecretValue');
  t.regex(headers['authorization'] ?? '', /^AWS4-HMAC-SHA256 Credential=AKIAEMULATOR00000001\/\d{8}\/us-east-1\/secretsmanager\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/);
  t.deepEqual(emulator.counters, { GetSecretValue: 1 });
});

test('anything but awsJson1.1 on POST / is refused loudly', async (t) => {
  const { emulator } = await setup(t);
  const cbor = await raw(emulator, { path: '/service/secretsmanager/operation/GetSecretValue', type: 'application/cbor' });
  t.is(cbor.status, 400);
  t.regex(String(cbor.body['Message']), /emulator speaks awsJson1.1 only.*smithy-rpc-v2-cbor/);
  const unknown = await raw(emulator, { target: 'secretsmanager.RotateSecret' });
  t.is(unknown.body['__type'], 'UnknownOperationException');
});

test('errors carry __type and X-Amzn-ErrorType with the same code, HTTP 400, and an unsigned request is refused', async (t) => {
  const { emulator } = await setup(t);
  const unsigned = await raw(emulator, { target: 'secretsmanager.GetSecretValue', body: '{"SecretId":"x"}' });
  t.is(unsigned.status, 400);
  t.is(unsigned.body['__type'], 'MissingAuthenticationTokenException');
  t.is(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
  t.is(unsigned.headers.get('content-type'), 'application/x-amz-json-1.1');
  t.truthy(unsigned.headers.get('x-amzn-requestid'));
});

test('InternalServiceError is HTTP 500 and ThrottlingException is HTTP 400, as real Secrets Manager answers', async (t) => {
  const { emulator } = await setup(t);
  const once = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(() => { once.destroy(); });
  emulator.faults.serverErrors = 1;
  emulator.faults.throttle = 1;
  const first = await t.throwsAsync(once.send(new ListSecretsCommand({})));
  const second = await t.throwsAsync(once.send(new ListSecretsCommand({})));
  const status = (error: unknown): unknown => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  t.deepEqual([status(first), first.name], [500, 'InternalServiceError']);
  t.deepEqual([status(second), second.name, second.message], [400, 'ThrottlingException', 'Rate exceeded']);
  t.is(emulator.counters['ListSecrets'], 2, 'faulted requests are counted too');
  t.deepEqual((await once.send(new ListSecretsCommand({}))).SecretList, [], 'the faults were used up');
});

test('dates are epoch seconds with a fraction, and the SDK reads them back to the millisecond', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/a', 'x');
  const signedFetch = await client.send(new GetSecretValueCommand({ SecretId: 'dsta/a' }));
  t.deepEqual(signedFetch.CreatedDate, new Date('2025-01-02T03:04:05.678Z'));
  const list = await client.send(new ListSecretsCommand({}));
  t.deepEqual(list.SecretList?.[0]?.LastChangedDate, new Date('2025-01-02T03:04:05.678Z'));
});

test('PutSecretValue moves AWSCURRENT to the new version and AWSPREVIOUS to the old one; a staged put moves only its stage', async (t) => {
  const { emulator, client } = await setup(t);
  const v1 = emulator.putSecret('dsta/a', 'one').versionId;
  const v2 = (await client.send(new PutSecretValueCommand({ SecretId: 'dsta/a', SecretString: 'two' }))).VersionId ?? '';
  const v3 = (await client.send(new PutSecretValueCommand({ SecretId: 'dsta/a', SecretString: 'three', VersionStages: ['AWSPENDING'] }))).VersionId ?? '';
  const stages = Object.fromEntries(emulator.versions('dsta/a').map((version) => [version.id, version.stages]));
  t.deepEqual(stages, { [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'], [v3]: ['AWSPENDING'] });
  const v4 = (await client.send(new PutSecretValueCommand({ SecretId: 'dsta/a', SecretString: 'four' }))).VersionId ?? '';
  const after = Object.fromEntries(emulator.versions('dsta/a').map((version) => [version.id, version.stages]));
  t.deepEqual(after, { [v1]: [], [v2]: ['AWSPREVIOUS'], [v3]: ['AWSPENDING'], [v4]: ['AWSCURRENT'] });
  t.is((await client.send(new GetSecretValueCommand({ SecretId: 'dsta/a', VersionStage: 'AWSPENDING' }))).SecretString, 'three');
});

test('the same ClientRequestToken with the same data is a no-op, with other data a conflict', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/a', 'one');
  const token = '0123456789abcdef0123456789abcdef';
  const first = await client.send(new PutSecretValueCommand({ SecretId: 'dsta/a', SecretString: 'two', ClientRequestToken: token }));
  const again = await client.send(new PutSecretValueCommand({ SecretId: 'dsta/a', SecretString: 'two', ClientRequestToken: token }));
  t.is(first.VersionId, token);
  t.is(again.VersionId, token);
  await t.throwsAsync(client.send(new PutSecretValueCommand({ SecretId: 'dsta/a', SecretString: 'other', ClientRequestToken: token })), { name: 'ResourceExistsException' });
  t.is(emulator.versions('dsta/a').length, 2);
});

test('secrets are found by name, full ARN and partial ARN; BatchGetSecretValue refuses more than 20 ids', async (t) => {
  const { emulator, client } = await setup(t);
  const { arn } = emulator.putSecret('dsta/a', 'x');
  t.regex(arn, /^arn:aws:secretsmanager:us-east-1:123456789012:secret:dsta\/a-[A-Za-z0-9]{6}$/);
  for (const id of ['dsta/a', arn, arn.slice(0, -7)]) t.is((await client.send(new GetSecretValueCommand({ SecretId: id }))).Name, 'dsta/a');
  const ids = Array.from({ length: 21 }, (_, index) => `dsta/s${index}`);
  await t.throwsAsync(client.send(new BatchGetSecretValueCommand({ SecretIdList: ids })), { name: 'InvalidParameterException' });
});

test('ListSecrets pages with NextToken and filters by name prefix', async (t) => {
  const { emulator, client } = await setup(t);
  for (const name of ['dsta/a', 'dsta/b', 'dsta/c', 'other/d']) emulator.putSecret(name, 'x');
  const first = await client.send(new ListSecretsCommand({ MaxResults: 2, Filters: [{ Key: 'name', Values: ['dsta/'] }] }));
  t.deepEqual(first.SecretList?.map((entry) => entry.Name), ['dsta/a', 'dsta/b']);
  const second = await client.send(new ListSecretsCommand({ MaxResults: 2, Filters: [{ Key: 'name', Values: ['dsta/'] }], NextToken: first.NextToken }));
  t.deepEqual(second.SecretList?.map((entry) => entry.Name), ['dsta/c']);
  t.is(second.NextToken, undefined);
});

test('a secret scheduled for deletion answers every read with HTTP 400 InvalidRequestException, in a batch as an Errors entry; RestoreSecret undoes it', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/a', 'x');
  const deleted = await client.send(new DeleteSecretCommand({ SecretId: 'dsta/a', RecoveryWindowInDays: 7 }));
  t.deepEqual(deleted.DeletionDate, new Date('2025-01-09T03:04:05.678Z'), 'the end of the recovery window');
  const message = "You can't perform this operation on the secret because it was marked for deletion.";
  const error = await t.throwsAsync(client.send(new GetSecretValueCommand({ SecretId: 'dsta/a' })));
  const wire = error as unknown as { __type?: string; $response?: { statusCode: number; headers: Record<string, string> } };
  t.deepEqual([error.name, error.message, wire.__type], ['InvalidRequestException', message, 'InvalidRequestException']);
  const headers = wire.$response?.headers ?? {};
  t.is(wire.$response?.statusCode, 400);
  t.is(headers['content-type'], 'application/x-amz-json-1.1');
  t.is(headers['x-amzn-errortype'], 'InvalidRequestException');
  t.regex(headers['x-amzn-requestid'] ?? '', /^[0-9a-f-]{36}$/);
  t.is(Number(headers['content-length']), Buffer.byteLength(JSON.stringify({ __type: 'InvalidRequestException', Message: message })), 'the body is exactly {"__type","Message"}');
  const batch = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['dsta/a', 'dsta/none'] }));
  t.is(batch.$metadata.httpStatusCode, 200);
  t.deepEqual(batch.SecretValues, []);
  t.deepEqual(batch.Errors, [
    { SecretId: 'dsta/a', ErrorCode: 'InvalidRequestException', Message: message },
    { SecretId: 'dsta/none', ErrorCode: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." },
  ]);
  t.deepEqual((await client.send(new DescribeSecretCommand({ SecretId: 'dsta/a' }))).DeletedDate, new Date('2025-01-02T03:04:05.678Z'), 'DescribeSecret still answers, with DeletedDate');
  t.deepEqual((await client.send(new ListSecretsCommand({}))).SecretList, [], 'ListSecrets leaves it out unless IncludePlannedDeletion');
  await t.throwsAsync(client.send(new DeleteSecretCommand({ SecretId: 'dsta/a' })), { name: 'InvalidRequestException' });
  const restored = await client.send(new RestoreSecretCommand({ SecretId: 'dsta/a' }));
  t.is(restored.Name, 'dsta/a');
  t.is((await client.send(new GetSecretValueCommand({ SecretId: 'dsta/a' }))).SecretString, 'x');
});

test('DeleteSecret takes a recovery window of 7 to 30 days or ForceDeleteWithoutRecovery, not both; a forced delete removes a scheduled secret', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/a', 'x');
  for (const input of [{ RecoveryWindowInDays: 6 }, { RecoveryWindowInDays: 31 }, { RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true }]) {
    await t.throwsAsync(client.send(new DeleteSecretCommand({ SecretId: 'dsta/a', ...input })), { name: 'InvalidParameterException' });
  }
  t.deepEqual((await client.send(new DeleteSecretCommand({ SecretId: 'dsta/a' }))).DeletionDate, new Date('2025-02-01T03:04:05.678Z'), 'the default window is 30 days');
  await client.send(new DeleteSecretCommand({ SecretId: 'dsta/a', ForceDeleteWithoutRecovery: true }));
  await t.throwsAsync(client.send(new GetSecretValueCommand({ SecretId: 'dsta/a' })), { name: 'ResourceNotFoundException' });
});

test('proxyNotFound: the next request gets a proxy\'s HTML 404, with none of the service\'s headers, and is counted', async (t) => {
  const { emulator } = await setup(t);
  emulator.faults.proxyNotFound = 1;
  const response = await fetch(`${emulator.endpoint}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' }, body: '{"SecretId":"x"}' });
  t.is(response.status, 404);
  t.is(response.headers.get('content-type'), 'text/html');
  t.is(response.headers.get('x-amzn-errortype'), null);
  t.is(response.headers.get('x-amzn-requestid'), null);
  t.regex(await response.text(), /^<html>\r\n<head><title>404 Not Found<\/title>/);
  t.is(emulator.counters['GetSecretValue'], 1);
  const next = await raw(emulator, { target: 'secretsmanager.GetSecretValue', body: '{"SecretId":"x"}' });
  t.is(next.body['__type'], 'MissingAuthenticationTokenException', 'the fault was used up: the service answers again');
});

test('scripted errors: the next requests answer the given codes, with __type, X-Amzn-ErrorType and status as the service sends them', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.faults.errors.push({ code: 'DecryptionFailure', message: 'Access to KMS is not allowed' }, { code: 'ServiceUnavailable', message: 'down', status: 503 });
  const once = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(() => { once.destroy(); });
  const first = await t.throwsAsync(once.send(new GetSecretValueCommand({ SecretId: 'dsta/a' })));
  const second = await t.throwsAsync(once.send(new GetSecretValueCommand({ SecretId: 'dsta/a' })));
  const status = (error: unknown): unknown => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  t.deepEqual([first.name, first.message, status(first)], ['DecryptionFailure', 'Access to KMS is not allowed', 400]);
  t.deepEqual([second.name, second.message, status(second)], ['ServiceUnavailable', 'down', 503]);
  await t.throwsAsync(client.send(new GetSecretValueCommand({ SecretId: 'dsta/a' })), { name: 'ResourceNotFoundException' });
});
