// Auto-rotation's AWS write (agent/backends/aws/rotation.ts replaceValue) against the AWS emulator through the real
// SDK: it puts over AWSCURRENT only, and only when AWSCURRENT is what the agent serves.
import { PutSecretValueCommand, SecretsManagerClient, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import test from 'ava';
import { createAwsBackend } from '../../agent/backends/aws.js';
import { rotationToken } from '../../agent/backends/aws/rotation.js';
import { isAgentError } from '../../agent/errors.js';
import { makePolicy, policyEntries } from '../../agent/rotation/policy.js';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import { memoryLog } from '../backends/aws/harness.js';

async function world(t: import('ava').ExecutionContext, versionStage: string) {
  const aws = await startAwsEmulator();
  const client = new SecretsManagerClient({ region: aws.region, endpoint: aws.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(async () => { client.destroy(); await aws.close(); });
  const backend = createAwsBackend({ config: { region: aws.region, prefix: 'dsta/', versionStage }, log: memoryLog().log, client });
  return { aws, backend };
}

test('an agent that serves another version stage does not rotate: AWSCURRENT is not what it renders', async (t) => {
  const { aws, backend } = await world(t, 'prod');
  const { versionId } = aws.putSecret('dsta/app', { secret_key: 'FIRST-value-0000000000000000000000', user: 'u' }, { stages: ['AWSCURRENT', 'prod'] });
  const error = await t.throwsAsync(backend.replaceKey('app/secret_key', 'NEW-value-00000000000000000000000000', versionId));
  t.true(isAgentError(error, 'ERR_CONFIG_INVALID'), String(error));
  t.regex(error.message, /version stage "prod"/);
  t.is(aws.versions('dsta/app').length, 1, 'no version nobody renders was put');
});

test('an agent that serves AWSCURRENT puts one version over it, named by the rotation token', async (t) => {
  const { aws, backend } = await world(t, 'AWSCURRENT');
  const { versionId } = aws.putSecret('dsta/app', { secret_key: 'FIRST-value-0000000000000000000000', user: 'u' });
  const written = await backend.replaceKey('app/secret_key', 'NEW-value-00000000000000000000000000', versionId);
  const versions = aws.versions('dsta/app');
  t.is(versions.length, 2);
  const current = versions.find((version) => version.stages.includes('AWSCURRENT'));
  t.is(current?.id, written.version);
  t.deepEqual(JSON.parse(String(current?.value)), { secret_key: 'NEW-value-00000000000000000000000000', user: 'u' });
  const again = await t.throwsAsync(backend.replaceKey('app/secret_key', 'OTHER-value-000000000000000000000000', versionId));
  t.true(isAgentError(again, 'ERR_CAS_CONFLICT'), 'a replica that read the replaced version loses');
});

test('after a rollback (AWSCURRENT moved back to a version whose rotation token is spent) the rotation is made with the next token of the sequence', async (t) => {
  const { aws, backend } = await world(t, 'AWSCURRENT');
  const { versionId } = aws.putSecret('dsta/app', { secret_key: 'FIRST-value-0000000000000000000000', user: 'u' });
  // The state a rollback leaves: the version the first rotation put (named by its token) holds no AWSCURRENT.
  const client = new SecretsManagerClient({ region: aws.region, endpoint: aws.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(() => { client.destroy(); });
  await client.send(new PutSecretValueCommand({ SecretId: 'dsta/app', SecretString: '{"secret_key":"ROLLED-back-value-00000000000000000","user":"u"}', ClientRequestToken: rotationToken('dsta/app', versionId), VersionStages: ['ROLLED-BACK'] }));
  const written = await backend.replaceKey('app/secret_key', 'NEW-value-00000000000000000000000000', versionId);
  t.is(written.version, rotationToken('dsta/app', versionId, 1));
  const current = aws.versions('dsta/app').find((version) => version.stages.includes('AWSCURRENT'));
  t.is(current?.id, written.version);
  t.deepEqual(JSON.parse(String(current?.value)), { secret_key: 'NEW-value-00000000000000000000000000', user: 'u' });
});

test('two replicas at once: the other one\'s put of the same rotation lands between this one\'s check and put; this one loses, one version', async (t) => {
  const aws = await startAwsEmulator();
  const client = new SecretsManagerClient({ region: aws.region, endpoint: aws.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(async () => { client.destroy(); await aws.close(); });
  const { versionId } = aws.putSecret('dsta/app', { secret_key: 'FIRST-value-0000000000000000000000', user: 'u' });
  let raced = false;
  // The other replica's put, sent just before this replica's own PutSecretValue.
  const racing = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      const send = target.send.bind(target) as (command: unknown) => Promise<unknown>;
      return async (command: unknown) => {
        if (command instanceof PutSecretValueCommand && !raced) {
          raced = true;
          await target.send(new PutSecretValueCommand({ SecretId: 'dsta/app', SecretString: '{"secret_key":"WINNER-value-000000000000000000000","user":"u"}', ClientRequestToken: rotationToken('dsta/app', versionId) }));
        }
        return send(command);
      };
    },
  });
  const backend = createAwsBackend({ config: { region: aws.region, prefix: 'dsta/', versionStage: 'AWSCURRENT' }, log: memoryLog().log, client: racing });
  const error = await t.throwsAsync(backend.replaceKey('app/secret_key', 'LOSER-value-00000000000000000000000', versionId));
  t.true(isAgentError(error, 'ERR_CAS_CONFLICT'), String(error));
  const versions = aws.versions('dsta/app');
  t.is(versions.length, 2, 'one new version');
  t.is(versions.find((version) => version.stages.includes('AWSCURRENT'))?.id, rotationToken('dsta/app', versionId));
});

test('a policy change that cannot remove tags (no UntagResource) changes nothing: it does not leave the new period with the old auto', async (t) => {
  const aws = await startAwsEmulator();
  const client = new SecretsManagerClient({ region: aws.region, endpoint: aws.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(async () => { client.destroy(); await aws.close(); });
  aws.putSecret('dsta/app', { secret_key: 'FIRST-value-0000000000000000000000' });
  const plain = createAwsBackend({ config: { region: aws.region, prefix: 'dsta/', versionStage: 'AWSCURRENT' }, log: memoryLog().log, client });
  const ref = { kind: 'value', path: 'app/secret_key' } as const;
  await plain.setLabels(ref, policyEntries(makePolicy({ period: '30d', generate: 40, auto: true, key: 'secret_key' })));
  const before = await plain.readLabels(ref);
  const untagDenied = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      const send = target.send.bind(target) as (command: unknown) => Promise<unknown>;
      return async (command: unknown) => {
        if (command instanceof UntagResourceCommand) throw Object.assign(new Error('User is not authorized to perform: secretsmanager:UntagResource'), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
        return send(command);
      };
    },
  });
  const denied = createAwsBackend({ config: { region: aws.region, prefix: 'dsta/', versionStage: 'AWSCURRENT' }, log: memoryLog().log, client: untagDenied });
  // `rotate --every 90d`: scheduled only, so rotation-generate and rotation-auto are to be removed.
  await t.throwsAsync(denied.setLabels(ref, policyEntries(makePolicy({ period: '90d', key: 'secret_key' }))));
  t.deepEqual(await plain.readLabels(ref), before, 'the recorded policy is the one before, whole');
});
