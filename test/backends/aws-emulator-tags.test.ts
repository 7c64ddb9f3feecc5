// The emulator's tags, stages and idempotency as Secrets Manager documents them, through the pinned SDK:
// TagResource/UntagResource and Tags in DescribeSecret, AWSPREVIOUS moved by PutSecretValue, ClientRequestToken
// idempotency (same token and value: the same version; same token, other value: ResourceExistsException).
import { CreateSecretCommand, DescribeSecretCommand, ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import test from 'ava';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import type { AwsEmulator } from '../fakes/aws/emulator.js';

async function setup(t: { teardown(fn: () => unknown): void }, now: () => Date = () => new Date('2025-01-02T03:04:05.678Z')): Promise<{ emulator: AwsEmulator; client: SecretsManagerClient }> {
  const emulator = await startAwsEmulator({ now });
  const client = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
  t.teardown(async () => { client.destroy(); await emulator.close(); });
  return { emulator, client };
}

test('TagResource adds and overwrites, UntagResource removes, DescribeSecret lists the tags', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/app', { secret_key: 'x' });
  t.is((await client.send(new DescribeSecretCommand({ SecretId: 'dsta/app' }))).Tags, undefined);
  await client.send(new TagResourceCommand({ SecretId: 'dsta/app', Tags: [{ Key: 'owner', Value: 'ops' }, { Key: 'rotation-period', Value: '30d' }] }));
  await client.send(new TagResourceCommand({ SecretId: 'dsta/app', Tags: [{ Key: 'rotation-period', Value: '90d' }] }));
  await client.send(new UntagResourceCommand({ SecretId: 'dsta/app', TagKeys: ['missing', 'owner'] }));
  t.deepEqual((await client.send(new DescribeSecretCommand({ SecretId: 'dsta/app' }))).Tags, [{ Key: 'rotation-period', Value: '90d' }]);
  const reserved = await t.throwsAsync(client.send(new TagResourceCommand({ SecretId: 'dsta/app', Tags: [{ Key: 'aws:x', Value: 'y' }] })));
  t.is(reserved.name, 'InvalidParameterException');
  const missing = await t.throwsAsync(client.send(new TagResourceCommand({ SecretId: 'dsta/none', Tags: [{ Key: 'a', Value: 'b' }] })));
  t.is(missing.name, 'ResourceNotFoundException');
});

test('CreateSecret with Tags; tagging moves LastChangedDate but no version is created', async (t) => {
  let now = new Date('2025-01-02T00:00:00Z');
  const { client } = await setup(t, () => now);
  await client.send(new CreateSecretCommand({ Name: 'dsta/db', SecretString: '{"password":"p"}', Tags: [{ Key: 'team', Value: 'data' }] }));
  now = new Date('2025-02-02T00:00:00Z');
  await client.send(new TagResourceCommand({ SecretId: 'dsta/db', Tags: [{ Key: 'rotation-period', Value: '30d' }] }));
  const described = await client.send(new DescribeSecretCommand({ SecretId: 'dsta/db' }));
  t.deepEqual(described.Tags, [{ Key: 'team', Value: 'data' }, { Key: 'rotation-period', Value: '30d' }]);
  t.deepEqual(described.LastChangedDate, now);
  const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'dsta/db' }));
  t.is(versions.Versions?.length, 1);
  t.deepEqual(versions.Versions?.[0]?.CreatedDate, new Date('2025-01-02T00:00:00Z'));
});

test('ClientRequestToken: the same token and value is the same version; the same token with another value is ResourceExistsException', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.putSecret('dsta/app', 'one');
  const token = 'rotation-0123456789abcdef0123456789abcdef';
  const put = await client.send(new PutSecretValueCommand({ SecretId: 'dsta/app', SecretString: 'two', ClientRequestToken: token }));
  t.is(put.VersionId, token);
  const again = await client.send(new PutSecretValueCommand({ SecretId: 'dsta/app', SecretString: 'two', ClientRequestToken: token }));
  t.is(again.VersionId, token);
  const other = await t.throwsAsync(client.send(new PutSecretValueCommand({ SecretId: 'dsta/app', SecretString: 'three', ClientRequestToken: token })));
  t.is(other.name, 'ResourceExistsException');
  t.is(emulator.versions('dsta/app').length, 2);
  const short = await t.throwsAsync(client.send(new PutSecretValueCommand({ SecretId: 'dsta/app', SecretString: 'x', ClientRequestToken: 'short' })));
  t.is(short.name, 'InvalidParameterException');
});
