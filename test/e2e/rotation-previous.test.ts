// version="previous" through the built CLI against both emulators: the Django SECRET_KEY_FALLBACKS pattern reads the
// version before the current one (Vault KV v2 current-1, AWS AWSPREVIOUS); with a single version there is none and
// default= applies; the older version is a request of its own and never the current value.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { runCli, scratch } from '../helpers/cli.js';
import { awsEnv, vaultEnv } from '../cli/ops-world.js';

const TEMPLATE = 'SECRET_KEY={{secret "app/secret_key"}}\nSECRET_KEY_FALLBACKS={{secret "app/secret_key" version="previous" default=""}}\n';

async function render(t: import('ava').ExecutionContext, env: Record<string, string>, backend: string): Promise<Record<string, string | undefined>> {
  const { dir, cleanup } = await scratch({ 'templates/django.env.hbs': TEMPLATE });
  t.teardown(cleanup);
  const result = await runCli(['once', '--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', backend], { env });
  t.is(result.code, 0, result.stderr);
  return parseEnv(await readFile(join(dir, 'out/django.env'), 'utf8'));
}

test('vault: previous is version current-1; with a single version the default applies', async (t) => {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('app', { secret_key: 'FIRST-key' });
  const env = vaultEnv(server.address, server.token);
  t.deepEqual(await render(t, env, 'vault'), { SECRET_KEY: 'FIRST-key', SECRET_KEY_FALLBACKS: '' });
  server.setSecret('app', { secret_key: 'SECOND-key' });
  server.setSecret('app', { secret_key: 'THIRD-key' });
  t.deepEqual(await render(t, env, 'vault'), { SECRET_KEY: 'THIRD-key', SECRET_KEY_FALLBACKS: 'SECOND-key' });
  t.true(server.counters.requests.some((request) => request.url.endsWith('/v1/secret/data/app?version=2')), 'the older version is read with ?version=');
  server.destroyVersions('app', [2]);
  t.deepEqual(await render(t, env, 'vault'), { SECRET_KEY: 'THIRD-key', SECRET_KEY_FALLBACKS: '' }, 'a destroyed previous version is not found');
});

test('aws: previous is AWSPREVIOUS; with a single version the default applies', async (t) => {
  const server = await startAwsEmulator();
  t.teardown(() => server.close());
  server.putSecret('dsta/app', { secret_key: 'FIRST-key' });
  const env = awsEnv(server.endpoint);
  t.deepEqual(await render(t, env, 'aws'), { SECRET_KEY: 'FIRST-key', SECRET_KEY_FALLBACKS: '' });
  server.putSecret('dsta/app', { secret_key: 'SECOND-key' });
  t.deepEqual(await render(t, env, 'aws'), { SECRET_KEY: 'SECOND-key', SECRET_KEY_FALLBACKS: 'FIRST-key' });
});

test('the chain: a previous version is never served by a backend that keeps none (env), and check lists it', async (t) => {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('app', { secret_key: 'ONLY-key' });
  const { dir, cleanup } = await scratch({ 'templates/django.env.hbs': TEMPLATE });
  t.teardown(cleanup);
  const env = { ...vaultEnv(server.address, server.token), SECRET_KEY: 'ENV-key' };
  const result = await runCli(['once', '--templates', join(dir, 'templates'), '--output', join(dir, 'out')], { env });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(parseEnv(await readFile(join(dir, 'out/django.env'), 'utf8')), { SECRET_KEY: 'ONLY-key', SECRET_KEY_FALLBACKS: '' });
  const check = await runCli(['check', '--templates', join(dir, 'templates')], { env });
  t.regex(check.stdout, /secret +app\/secret_key \[version=previous, default\]/);
  const strict = await scratch({ 'templates/bad.env.hbs': 'K={{secret "app/secret_key" version="latest"}}\n' });
  t.teardown(strict.cleanup);
  const bad = await runCli(['check', '--templates', join(strict.dir, 'templates')], { env });
  t.is(bad.code, 1);
  t.regex(bad.stdout + bad.stderr, /bad\.env\.hbs:1: version= takes the string literal "previous"/);
});
