// secretAges, the function behind `audit`: metadata from the backend that
// serves each path, one read per secret, ages on the caller's clock, failures reported per entry.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import test from 'ava';
import pino from 'pino';
import { AwsBackend } from '../../agent/backends/aws.js';
import { EnvBackend } from '../../agent/backends/env.js';
import { createVaultBackend } from '../../agent/backends/vault.js';
import { loadConfig } from '../../agent/config/load.js';
import { ageTargets, secretAges } from '../../agent/ops/ages.js';
import { prepareTemplate } from '../../agent/template/load.js';
import type { Resolution } from '../../agent/store/store.js';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

const DAY = 86_400_000;
const log = pino({ level: 'silent' });

async function backends(t: import('ava').ExecutionContext, clock: FakeClock) {
  const vaultServer = await startVaultEmulator({ namespace: 'dsta', clock, mounts: { secret: 2, kv1: 1 } });
  const awsServer = await startAwsEmulator({ now: () => new Date(clock.now()) });
  const config = await loadConfig({ file: undefined, env: { VAULT_ADDR: vaultServer.address, VAULT_TOKEN: vaultServer.token, AWS_REGION: 'us-east-1', SECRETS_AGENT_AWS_PREFIX: 'dsta/' }, flags: {}, cwd: process.cwd() });
  const vault = createVaultBackend({ config: config.vault, log });
  await vault.start();
  const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: awsServer.endpoint, credentials: EMULATOR_CREDENTIALS });
  const aws = new AwsBackend({ config: config.aws, log, client });
  t.teardown(async () => {
    await vault.close();
    client.destroy();
    await vaultServer.close();
    await awsServer.close();
  });
  return { vaultServer, awsServer, vault, aws, env: new EnvBackend({ env: { APP_SECRET_KEY: 'x' }, prefix: '', map: {} }) };
}

test('ages come from the creation of the current version (Vault created_time, AWS AWSCURRENT CreatedDate), measured on the caller\'s clock', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const { vaultServer, awsServer, vault, aws, env } = await backends(t, clock);
  vaultServer.setSecret('exchange/binance', { api_key: 'k', api_secret: 's' });
  awsServer.putSecret('dsta/exchange/gateio', { api_key: 'k' });
  await clock.advance(30 * DAY);
  vaultServer.setSecret('exchange/binance', { api_key: 'k2', api_secret: 's' });
  const now = clock.now() + 45 * DAY + 3_600_000;
  const ages = await secretAges([vault, aws, env], [
    { path: 'exchange/binance/api_key', kind: 'value', backend: 'vault' },
    { path: 'exchange/binance', kind: 'map', backend: 'vault' },
    { path: 'exchange/gateio/api_key', kind: 'value', backend: 'aws' },
    { path: 'app/secret_key', kind: 'value', backend: 'env' },
    { path: 'monitoring/sentry_dsn', kind: 'value', backend: undefined },
  ], now);
  t.like(ages[0], { backend: 'vault', version: '2', lastChanged: new Date(Date.UTC(2026, 0, 31)).toISOString(), ageDays: 45, ageSeconds: 45 * 86_400 + 3600 });
  t.like(ages[1], { backend: 'vault', version: '2', ageDays: 45 });
  t.like(ages[2], { backend: 'aws', lastChanged: new Date(Date.UTC(2026, 0, 1)).toISOString(), ageDays: 75 });
  t.regex(ages[2]?.version ?? '', /^[0-9a-f-]{36}$/);
  t.like(ages[3], { backend: 'env', version: null, lastChanged: null, ageDays: null, ageSeconds: null });
  t.like(ages[4], { backend: null, version: null, lastChanged: null, ageDays: null });
  t.is(vaultServer.counters.count({ method: 'GET', path: 'secret/metadata/exchange/binance' }), 1, 'one metadata read for both paths of one secret');
});

test('AWS: the age is the AWSCURRENT version\'s creation; tags and LastRotatedDate do not make a secret young', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const { awsServer, aws } = await backends(t, clock);
  awsServer.putSecret('dsta/app', { secret_key: 'x' }, { lastRotated: new Date(Date.UTC(2026, 1, 1)) });
  await clock.advance(20 * DAY);
  await aws.setLabels({ kind: 'value', path: 'app/secret_key' }, { owner: 'ops' });
  const [age] = await secretAges([aws], [{ path: 'app/secret_key', kind: 'value', backend: 'aws' }], Date.UTC(2026, 1, 11));
  t.like(age, { lastChanged: new Date(Date.UTC(2026, 0, 1)).toISOString(), ageDays: 41 });
});

test('a failed metadata read is reported in its entry and never throws; an unresolved path carries its reason', async (t) => {
  const clock = new FakeClock();
  const { vaultServer, vault } = await backends(t, clock);
  vaultServer.setSecret('app', { secret_key: 'x' });
  vaultServer.faults.add({ kind: 'status', status: 403 }, { path: 'secret/metadata/app' });
  const ages = await secretAges([vault], [
    { path: 'app/secret_key', kind: 'value', backend: 'vault' },
    { path: 'exchange/x/api_key', kind: 'value', backend: undefined, error: 'vault backend unavailable' },
  ], clock.now());
  t.like(ages[0], { path: 'app/secret_key', backend: 'vault', lastChanged: null, ageDays: null });
  t.regex(ages[0]?.error ?? '', /permission denied to read the metadata of "app"/);
  t.like(ages[1], { backend: null, error: 'vault backend unavailable' });
});

test('ageTargets takes each template path with the backend its resolution came from', (t) => {
  const template = prepareTemplate('/t/app.env.hbs', 'app.env.hbs', 'A={{secret "a/b/k"}}\nB={{secret "a/b/k"}}\nC={{secret "c/d" default=""}}\nE={{env "HOME"}}\n{{#each (secrets "x/y")}}{{/each}}\n');
  const resolutions = new Map<string, Resolution>([['*|value:a/b/k', { status: 'found', data: 'v', backend: 'vault', version: '3' }], ['*|value:c/d', { status: 'not_found', tried: ['vault'] }]]);
  t.deepEqual(ageTargets([template], resolutions), [
    { path: 'a/b/k', kind: 'value', backend: 'vault' },
    { path: 'c/d', kind: 'value', backend: undefined },
    { path: 'x/y', kind: 'map', backend: undefined },
  ]);
});
