// SecretRotationManager.scheduleRotation / getRotationSchedule (the seed's `schedule_rotation(path, days=90)`) through
// the real clients against both emulators: the policy goes with the secret, the schedule is the creation of the
// current version plus the period, the emulators' clocks set the ages.
import { Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { isAgentError, SecretManager, SecretRotationManager } from '../../agent/index.js';
import { startAwsEmulator, EMULATOR_CREDENTIALS } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

const DAY = 86_400_000;
const log = pino({ level: 'silent' }, new Writable({ write(_c, _e, done) { done(); } }));

test('vault: scheduleRotation records the policy and getRotationSchedule answers { period, lastChanged, due, auto }', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const vault = await startVaultEmulator({ namespace: 'dsta', clock });
  vault.setSecret('exchange/binance', { api_key: 'k', api_secret: 's' });
  const manager = new SecretManager({ backend: 'vault', env: { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token }, log });
  t.teardown(async () => { await manager.close(); await vault.close(); });
  const rotator = new SecretRotationManager(manager);
  t.deepEqual(await rotator.getRotationSchedule('exchange/binance/api_key'), { period: null, lastChanged: new Date(Date.UTC(2026, 0, 1)), due: null, auto: false });
  await clock.advance(10 * DAY);
  const scheduled = await rotator.scheduleRotation('exchange/binance/api_key', { days: 90 });
  t.deepEqual(scheduled, { period: '90d', lastChanged: new Date(Date.UTC(2026, 0, 1)), due: new Date(Date.UTC(2026, 3, 1)), auto: false }, 'due counts from the version, not from the metadata write');
  const error = await t.throwsAsync(rotator.scheduleRotation('exchange/binance/api_key', { days: 90, auto: true }));
  t.true(isAgentError(error, 'ERR_USAGE'));
  t.deepEqual(await rotator.scheduleRotation('exchange/binance/api_secret', { days: 30, generate: 48, auto: true }), { period: '30d', lastChanged: new Date(Date.UTC(2026, 0, 1)), due: new Date(Date.UTC(2026, 0, 31)), auto: true });
});

test('aws: the policy is tags; due counts from the AWSCURRENT version, which tagging does not move', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const aws = await startAwsEmulator({ now: () => new Date(clock.now()) });
  aws.putSecret('dsta/app', { secret_key: 'x' });
  const env = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint, SECRETS_AGENT_AWS_PREFIX: 'dsta/', AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' };
  // Why: the SDK reads its credentials and endpoint from the process environment, not the manager's `env`.
  Object.assign(process.env, env);
  const manager = new SecretManager({ backend: 'aws', env, log });
  t.teardown(async () => { await manager.close(); await aws.close(); });
  const rotator = new SecretRotationManager(manager);
  await clock.advance(5 * DAY);
  t.deepEqual(await rotator.scheduleRotation('app/secret_key', { days: 7, generate: 64, auto: true }), { period: '7d', lastChanged: new Date(Date.UTC(2026, 0, 1)), due: new Date(Date.UTC(2026, 0, 8)), auto: true });
  await clock.advance(DAY);
  await rotator.rotateSecret('app/secret_key', 'new-value-of-the-django-key');
  t.deepEqual(await rotator.getRotationSchedule('app/secret_key'), { period: '7d', lastChanged: new Date(Date.UTC(2026, 0, 7)), due: new Date(Date.UTC(2026, 0, 14)), auto: true });
});
