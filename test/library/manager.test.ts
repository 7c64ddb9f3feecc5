// The library against real files and the environment (no network): the seed's environment-backend test
// made honest, defaults, exchange credentials, errors with the seed's messages.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { checkSecretBackend, isAgentError, SecretManager, SecretRotationManager } from '../../agent/index.js';
import { scratch } from '../helpers/cli.js';

function quietLog(): { log: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { chunks.push(chunk.toString('utf8')); done(); } });
  return { log: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}

test('environment backend: BINANCE_API_KEY answers exchange/binance/api_key, and changes in the environment are seen', async (t) => {
  const env: Record<string, string> = { BINANCE_API_KEY: 'env-key', BINANCE_API_SECRET: 'env-secret', BINANCE_TESTNET: 'true' };
  const manager = new SecretManager({ backend: 'env', env, log: quietLog().log });
  t.is(manager.backendName, 'env');
  t.is(await manager.getSecret('exchange/binance/api_key'), 'env-key');
  t.deepEqual(await manager.getExchangeCredentials('binance'), { api_key: 'env-key', api_secret: 'env-secret', testnet: 'true' });
  t.true(await manager.backend.isAvailable());
});

test('a default is returned only when no backend has the secret', async (t) => {
  const manager = new SecretManager({ backend: 'env', env: { PASSWORD: 'real' }, log: quietLog().log });
  t.is(await manager.getSecret('database/password', { default: 'dev_password' }), 'real');
  t.is(await manager.getSecret('database/other', { default: 'dev_password' }), 'dev_password');
});

test('a missing secret throws the seed message with a stable code', async (t) => {
  const manager = new SecretManager({ backend: 'env', env: {}, log: quietLog().log });
  const error = await t.throwsAsync(manager.getSecret('exchange/kraken/api_key'));
  t.true(isAgentError(error, 'ERR_SECRET_NOT_FOUND'));
  t.is(error.message, 'Secret not found: exchange/kraken/api_key');
  const exchange = await t.throwsAsync(new SecretManager({ backend: 'env', env: { KRAKEN_API_KEY: 'k' }, log: quietLog().log }).getExchangeCredentials('kraken'));
  t.regex(exchange.message, /^Secret not found: exchange\/kraken\/api_secret/);
});

test('fallback chain: the file wins over env, env serves what the file lacks', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets.yaml': 'app:\n  secret_key: from-file\n' });
  t.teardown(cleanup);
  const manager = new SecretManager({ env: { SECRETS_AGENT_FILE: join(dir, 'secrets.yaml'), SECRET_KEY: 'from-env', SENTRY_DSN: 'dsn-from-env' }, log: quietLog().log });
  t.is(await manager.getSecret('app/secret_key'), 'from-file');
  t.is(await manager.getSecret('monitoring/sentry_dsn'), 'dsn-from-env');
  t.deepEqual((await manager.backends()).map((backend) => backend.name), ['file', 'env']);
});

test('the seed health object says healthy for a readable chain and unhealthy with the reason otherwise', async (t) => {
  const { dir, cleanup } = await scratch({ 'secrets.yaml': 'a: { b: c }\n' });
  t.teardown(cleanup);
  const good = new SecretManager({ env: { SECRETS_AGENT_FILE: join(dir, 'secrets.yaml') }, log: quietLog().log });
  t.deepEqual(await checkSecretBackend(good), { status: 'healthy', backend: 'file' });
  await writeFile(join(dir, 'secrets.yaml'), 'a: [\n');
  const broken = new SecretManager({ env: { SECRETS_AGENT_FILE: join(dir, 'secrets.yaml') }, log: quietLog().log });
  t.like(await checkSecretBackend(broken), { status: 'unhealthy', backend: 'file' });
});

test('rotating a secret served by a read-only backend is refused with a clear message', async (t) => {
  const manager = new SecretManager({ backend: 'env', env: { SECRET_KEY: 'x' }, log: quietLog().log });
  const error = await t.throwsAsync(new SecretRotationManager(manager).rotateSecret('app/secret_key', 'new-value-123'));
  t.regex(error.message, /the env backend is read-only/);
  t.false(error.message.includes('new-value-123'));
});
