// The fallback chain end to end: the real node-vault client against the Vault emulator, the real AWS SDK
// against the AWS emulator, and environment variables — every rule of docs/design.md, through the library and
// through the running agent's rendered file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { Agent } from '../../agent/agent.js';
import { isAgentError, SecretManager } from '../../agent/index.js';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { eventually } from '../helpers/agent-process.js';
import { scratch } from '../helpers/cli.js';

// The AWS SDK reads credentials and its endpoint from the process environment (offline by construction), so
// one AWS emulator serves the whole file; each test writes its own secret names.
const aws = await startAwsEmulator();
Object.assign(process.env, { AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint });
test.after.always(() => aws.close());
let worlds = 0;

async function world(t: import('ava').ExecutionContext): Promise<{ env: Record<string, string>; vault: Awaited<ReturnType<typeof startVaultEmulator>>; prefix: string }> {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  const prefix = `dsta/w${++worlds}/`;
  vault.setSecret('exchange/binance', { api_key: 'vault-binance-key', api_secret: 'vault-binance-secret' });
  vault.setSecret('database/forbidden', { password: 'never-served' });
  vault.setPolicy('agent', 'path "secret/data/exchange/*" { capabilities = ["read"] }\npath "secret/metadata/exchange/*" { capabilities = ["read"] }\npath "secret/data/app" { capabilities = ["read"] }\npath "secret/data/database/postgres" { capabilities = ["read"] }\npath "sys/internal/ui/mounts/*" { capabilities = ["read"] }');
  const token = vault.createToken({ ttl: 3600, maxTtl: 7200, policies: ['default', 'agent'], renewable: true });
  aws.putSecret(`${prefix}exchange/gateio`, { api_key: 'aws-gateio-key', api_secret: 'aws-gateio-secret' });
  aws.putSecret(`${prefix}database/postgres`, { password: 'aws-postgres-password' });
  const env = {
    VAULT_ADDR: vault.address, VAULT_TOKEN: token, VAULT_NAMESPACE: 'dsta',
    AWS_REGION: 'us-east-1', SECRETS_AGENT_AWS_PREFIX: prefix,
    BINANCE_API_KEY: 'env-binance-key', SECRET_KEY: 'env-app-secret-key', FORBIDDEN_PASSWORD: 'env-would-be-wrong',
  };
  return { env, vault, prefix };
}

function silent(): pino.Logger {
  return pino({ level: 'silent' });
}

test('each path goes to the first backend that has it: Vault, then AWS, then env', async (t) => {
  const { env } = await world(t);
  const manager = new SecretManager({ env, log: silent() });
  t.teardown(() => manager.close());
  t.deepEqual((await manager.backends()).map((backend) => backend.name), ['vault', 'aws', 'env']);
  t.is(await manager.getSecret('exchange/binance/api_key'), 'vault-binance-key');
  t.is(await manager.getSecret('exchange/gateio/api_key'), 'aws-gateio-key');
  t.is(await manager.getSecret('app/secret_key'), 'env-app-secret-key');
  t.like(await manager.resolve({ kind: 'value', path: 'exchange/gateio/api_key' }), { backend: 'aws' });
});

test('permission denied stops the chain: no lower backend is asked', async (t) => {
  const { env } = await world(t);
  const manager = new SecretManager({ env, log: silent() });
  t.teardown(() => manager.close());
  const error = await t.throwsAsync(manager.getSecret('database/forbidden/password'));
  t.true(isAgentError(error, 'ERR_SECRET_DENIED'));
  t.is(error.message, 'Permission denied: database/forbidden/password');
});

test('Vault down after resolving: the path keeps the Vault value (stale) while env holds a different one; new paths fall through', async (t) => {
  const { env, vault } = await world(t);
  const manager = new SecretManager({ env, log: silent() });
  t.teardown(() => manager.close());
  t.is(await manager.getSecret('exchange/binance/api_key'), 'vault-binance-key');
  vault.faults.add({ kind: 'status', status: 503 });
  const stale = await manager.resolve({ kind: 'value', path: 'exchange/binance/api_key' });
  t.like(stale, { status: 'found', data: 'vault-binance-key', backend: 'vault' });
  t.true(stale.status === 'found' && stale.stale !== undefined);
  t.is(await manager.getSecret('database/postgres/password'), 'aws-postgres-password', 'a path Vault never served falls to AWS');
});

test('a forced backend uses only that backend', async (t) => {
  const { env } = await world(t);
  const manager = new SecretManager({ env, log: silent() });
  t.teardown(() => manager.close());
  t.is(await manager.getSecret('exchange/binance/api_key', { backend: 'env' }), 'env-binance-key');
  const forced = new SecretManager({ env, backend: 'aws', log: silent() });
  t.teardown(() => forced.close());
  await t.throwsAsync(forced.getSecret('exchange/binance/api_key'), { message: 'Secret not found: exchange/binance/api_key' });
});

test('the running agent keeps rendering the Vault value while Vault is down, never the env value', async (t) => {
  const { env, vault } = await world(t);
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'BINANCE_API_KEY={{secret "exchange/binance/api_key"}}\nGATEIO_API_KEY={{secret "exchange/gateio/api_key"}}\n' });
  t.teardown(cleanup);
  const logs: string[] = [];
  const logStream = new Writable({ write(chunk: Buffer, _e, done) { logs.push(chunk.toString('utf8')); done(); } });
  const agent = new Agent({ io: { argv: [], env: { ...env, SECRETS_AGENT_LISTEN: '', SECRETS_AGENT_SCHEDULE: '0 0 1 1 *' }, cwd: dir, stdout: logStream, stderr: logStream, logStream }, flags: { templates: join(dir, 'templates'), output: join(dir, 'out') } });
  t.teardown(() => agent.stop());
  await agent.start();
  t.true(await eventually(() => agent.ready), logs.join(''));
  const expected = "BINANCE_API_KEY='vault-binance-key'\nGATEIO_API_KEY='aws-gateio-key'\n";
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), expected);
  // secret_age_seconds comes from the creation times the data reads carried: no metadata read, no DescribeSecret.
  const metrics = await agent.metrics.text();
  t.regex(metrics, /^secret_age_seconds\{path="exchange\/gateio\/api_key"\} \d+$/m);
  t.regex(metrics, /^secret_age_seconds\{path="exchange\/binance\/api_key"\} \d+$/m);
  t.false(vault.counters.requests.some((request) => request.path.includes('/metadata/')), 'no KV metadata request');
  vault.faults.add({ kind: 'reset' });
  agent.trigger('test');
  // The status is recorded at the end of the cycle that logged the stale read.
  t.true(await eventually(() => JSON.stringify(agent.status()).includes('"stale":true')), logs.join(''));
  t.regex(logs.join(''), /serving the last good value of \\"exchange\/binance\/api_key\\" from vault \(stale\)/);
  t.is(await readFile(join(dir, 'out/app.env'), 'utf8'), expected);
  const status = JSON.stringify(agent.status());
  t.false(status.includes('vault-binance-key'));
});
