// A secret marked for deletion (DeleteSecret with a recovery window) is *not found*, as the service means it:
// the chain moves on and a template's default applies. Through fetch, through fetchMany's batch `Errors`, with
// the whole-secret (plain) fallback of `<secret>/<key>` kept, and through the CLI's `once`.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteSecretCommand, RestoreSecretCommand } from '@aws-sdk/client-secrets-manager';
import test from 'ava';
import { EMULATOR_CREDENTIALS } from '../fakes/aws/emulator.js';
import { root, scratch } from '../helpers/cli.js';
import type { Fixture } from './aws/harness.js';
import { emulated, fixture, onEmulator } from './aws/harness.js';

const emulatorOnly = onEmulator ? test : test.skip;
const value = (path: string) => ({ kind: 'value', path }) as const;

/** DeleteSecret with the shortest recovery window: the secret stays, marked for deletion, until restored. */
async function scheduleDeletion(f: Fixture, name: string): Promise<void> {
  await f.client.send(new DeleteSecretCommand({ SecretId: `${f.prefix}${name}`, RecoveryWindowInDays: 7 }));
}

test('a JSON secret marked for deletion is not found through fetch, and its key falls back to the plain secret', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/binance', { api_key: 'from-json' });
  await f.seed('exchange/binance/api_key', 'from-plain');
  await scheduleDeletion(f, 'exchange/binance');
  const backend = f.backend();
  t.like(await backend.fetch(value('exchange/binance/api_key')), { status: 'found', data: 'from-plain' });
  t.is(f.calls['GetSecretValue'], 2, 'the JSON secret first (marked for deletion), then the plain secret');
  const map = await backend.fetch({ kind: 'map', path: 'exchange/binance' });
  t.deepEqual(map, { status: 'not_found', reason: `secret "${f.prefix}exchange/binance" (marked for deletion; RestoreSecret cancels that) does not exist in ${f.region}` });
});

test('a key whose JSON and plain secrets are both marked for deletion is not found, and the reason says so', async (t) => {
  const f = await fixture(t);
  await f.seed('app', { secret_key: 'k' });
  await f.seed('app/secret_key', 'plain');
  await f.seed('standalone', 'alone');
  await scheduleDeletion(f, 'app');
  await scheduleDeletion(f, 'app/secret_key');
  await scheduleDeletion(f, 'standalone');
  const backend = f.backend();
  t.deepEqual(await backend.fetch(value('app/secret_key')), {
    status: 'not_found',
    reason: `neither the JSON secret "${f.prefix}app" (marked for deletion; RestoreSecret cancels that) nor the plain secret "${f.prefix}app/secret_key" (marked for deletion; RestoreSecret cancels that) exists in ${f.region}`,
  });
  t.deepEqual(await backend.fetch(value('standalone')), { status: 'not_found', reason: `secret "${f.prefix}standalone" (marked for deletion; RestoreSecret cancels that) does not exist in ${f.region}` });
});

test('through fetchMany, the batch Errors entry of a secret marked for deletion is not found, for that secret only, and the plain fallback is batched', async (t) => {
  const f = await fixture(t);
  await f.seed('gone', { k: 'old' });
  await f.seed('gone/k', 'plain-k');
  await f.seed('gone/j', 'plain-j');
  await f.seed('alsogone', { k: 'old' });
  await f.seed('live', { k: 'live-k' });
  await scheduleDeletion(f, 'gone');
  await scheduleDeletion(f, 'alsogone');
  const refs = [value('gone/k'), value('gone/j'), value('alsogone/k'), { kind: 'map', path: 'gone' } as const, value('live/k')];
  const outcomes = await f.backend().fetchMany(refs);
  t.like(outcomes.get('value:gone/k'), { status: 'found', data: 'plain-k' });
  t.like(outcomes.get('value:gone/j'), { status: 'found', data: 'plain-j' });
  t.like(outcomes.get('value:alsogone/k'), { status: 'not_found' });
  t.like(outcomes.get('map:gone'), { status: 'not_found' });
  t.like(outcomes.get('value:live/k'), { status: 'found', data: 'live-k' });
  t.is(f.calls['BatchGetSecretValue'], 2, 'the JSON secrets in one call, then the three plain candidates in another');
  t.is(f.calls['GetSecretValue'], undefined);
});

test('RestoreSecret makes the secret found again, on the same backend', async (t) => {
  const f = await fixture(t);
  await f.seed('app', { secret_key: 'k' });
  await scheduleDeletion(f, 'app');
  const backend = f.backend();
  t.is((await backend.fetch(value('app/secret_key'))).status, 'not_found');
  await f.client.send(new RestoreSecretCommand({ SecretId: `${f.prefix}app` }));
  t.like(await backend.fetch(value('app/secret_key')), { status: 'found', data: 'k' });
});

emulatorOnly('once renders a template default for a secret marked for deletion and exits 0', async (t) => {
  const f = await fixture(t);
  const aws = emulated(f);
  await f.seed('app', { k: 'live' });
  await scheduleDeletion(f, 'app');
  const { dir, cleanup } = await scratch({
    'secrets-agent.yaml': `templates: ./templates\noutput: ./out\nbackend: aws\naws:\n  region: ${aws.region}\n  prefix: "${f.prefix}"\n`,
    'templates/app.env.hbs': 'K={{secret "app/k" default="d"}}\n',
  });
  t.teardown(cleanup);
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin', AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint, AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
  };
  // The CLI from source (tsx), as `secrets-agent once` runs: no build needed for this one command.
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'agent/main.ts'), 'once', '--config', join(dir, 'secrets-agent.yaml')], { cwd: root, env, encoding: 'utf8' }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr });
    });
  });
  t.is(result.code, 0, result.stderr);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), "K='d'\n");
  t.true((aws.counters['GetSecretValue'] ?? 0) >= 1, 'AWS was asked, and answered that the secret is marked for deletion');
});
