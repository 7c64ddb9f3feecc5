// `rotate --every` as an operator runs it, through the built CLI against both emulators: the policy is recorded with
// the secret (Vault custom_metadata by a metadata PATCH, AWS tags), the secret's other metadata keys and tags are
// kept, `--every` alone writes no version, and a new policy replaces the rotation keys of the old one.
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { runCli } from '../helpers/cli.js';
import { assertNoValues, awsEnv, vaultEnv } from '../cli/ops-world.js';

async function vaultMetadata(address: string, token: string, secret: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${address}/v1/secret/metadata/${secret}`, { headers: { 'X-Vault-Token': token, 'X-Vault-Namespace': 'dsta' } });
  return ((await response.json()) as { data: Record<string, unknown> }).data;
}

test('vault: --every alone PATCHes custom_metadata, keeps the other keys and writes no version', async (t) => {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('app', { secret_key: 'FAKE-django-key-0000', other: 'kept' });
  await fetch(`${server.address}/v1/secret/metadata/app`, { method: 'POST', headers: { 'X-Vault-Token': server.token, 'X-Vault-Namespace': 'dsta', 'Content-Type': 'application/json' }, body: JSON.stringify({ custom_metadata: { owner: 'platform', 'rotation-auto': 'true' } }) });
  const env = vaultEnv(server.address, server.token);
  const result = await runCli(['rotate', 'app/secret_key', '--every', '30d'], { env });
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '', 'no version written, so no version printed');
  t.regex(result.stderr, /rotation policy of app\/secret_key recorded in vault: every 30d, values come from outside .*; next due \d{4}-/);
  const meta = await vaultMetadata(server.address, server.token, 'app');
  t.deepEqual(meta['custom_metadata'], { owner: 'platform', 'rotation-key': 'secret_key', 'rotation-period': '30d' }, 'owner kept; an earlier rotation-auto removed by the new policy');
  t.is(meta['current_version'], 1);
  const patch = server.counters.requests.filter((request) => request.method === 'PATCH');
  t.is(patch.length, 1);
  t.is(patch[0]?.contentType, 'application/merge-patch+json');
  t.is(server.counters.requests.filter((request) => request.method === 'POST' && request.path === 'secret/data/app').length, 0);
  assertNoValues(t, result, ['FAKE-django-key-0000'], 'rotate --every');
});

test('vault: --generate with --every --auto writes a version and records generate and auto', async (t) => {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('app', { secret_key: 'FAKE-django-key-0000' });
  const env = vaultEnv(server.address, server.token);
  const result = await runCli(['rotate', 'app/secret_key', '--generate', '50', '--charset', 'hex', '--every', '90d', '--auto'], { env });
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '2\n');
  const meta = await vaultMetadata(server.address, server.token, 'app');
  t.deepEqual(meta['custom_metadata'], { 'rotation-auto': 'true', 'rotation-charset': 'hex', 'rotation-generate': '50', 'rotation-key': 'secret_key', 'rotation-period': '90d' });
  const versions = meta['versions'] as Record<string, { created_time: string }>;
  t.regex(result.stderr, new RegExp(`next rotation due ${new Date(Date.parse(versions['2']?.created_time ?? '') + 90 * 86_400_000).toISOString().replace(/\./g, '\\.')}`));
});

test('--auto without --generate, and no flag at all, are usage errors (exit 2) that write nothing', async (t) => {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('exchange/binance', { api_key: 'k' });
  const env = vaultEnv(server.address, server.token);
  const auto = await runCli(['rotate', 'exchange/binance/api_key', '--every', '90d', '--auto'], { env });
  t.is(auto.code, 2);
  t.regex(auto.stderr, /--auto goes with --every and --generate N/);
  const none = await runCli(['rotate', 'exchange/binance/api_key'], { env });
  t.is(none.code, 2);
  t.regex(none.stderr, /--every 90d to record the rotation period/);
  t.is(server.counters.requests.filter((request) => request.method !== 'GET').length, 0);
});

test('aws: --every tags the JSON secret that holds the key, keeps its other tags and writes no version', async (t) => {
  const server = await startAwsEmulator();
  t.teardown(() => server.close());
  server.putSecret('dsta/exchange/binance', { api_key: 'FAKE-key', api_secret: 'FAKE-secret' });
  const env = awsEnv(server.endpoint);
  const { SecretsManagerClient, TagResourceCommand, DescribeSecretCommand } = await import('@aws-sdk/client-secrets-manager');
  const { EMULATOR_CREDENTIALS } = await import('../fakes/aws/emulator.js');
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: EMULATOR_CREDENTIALS });
  t.teardown(() => { client.destroy(); });
  await client.send(new TagResourceCommand({ SecretId: 'dsta/exchange/binance', Tags: [{ Key: 'team', Value: 'trading' }, { Key: 'rotation-generate', Value: '40' }] }));
  const result = await runCli(['rotate', 'exchange/binance/api_key', '--every', '90d'], { env });
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '');
  const tags = (await client.send(new DescribeSecretCommand({ SecretId: 'dsta/exchange/binance' }))).Tags;
  t.deepEqual(tags, [{ Key: 'team', Value: 'trading' }, { Key: 'rotation-period', Value: '90d' }, { Key: 'rotation-key', Value: 'api_key' }]);
  t.is(server.versions('dsta/exchange/binance').length, 1, 'no version written');
  t.is(server.counters['PutSecretValue'], undefined);
  assertNoValues(t, result, ['FAKE-key', 'FAKE-secret'], 'rotate --every on aws');
});
