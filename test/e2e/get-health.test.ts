// `get` and `health` as an operator runs them: the built CLI against the Vault and AWS emulators.
import test from 'ava';
import { EMULATOR_CREDENTIALS, startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { logLines, runCli } from '../helpers/cli.js';

async function backends(t: import('ava').ExecutionContext, options: { enterprise?: boolean } = {}): Promise<{ env: Record<string, string>; vault: Awaited<ReturnType<typeof startVaultEmulator>> }> {
  const vault = await startVaultEmulator({ namespace: 'dsta', ...options });
  const aws = await startAwsEmulator();
  t.teardown(async () => {
    await vault.close();
    await aws.close();
  });
  vault.setSecret('exchange/binance', { api_key: 'vault-key', api_secret: 'vault "secret"\nline2', testnet: 'true' });
  aws.putSecret('dsta/exchange/gateio', { api_key: 'aws-key', api_secret: 'aws-secret' });
  return {
    vault,
    env: {
      VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
      SECRETS_AGENT_AWS_PREFIX: 'dsta/', AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true', REDIS_PASSWORD: 'env-redis',
    },
  };
}

test('get prints exactly the value and one newline, from whichever backend has it', async (t) => {
  const { env } = await backends(t);
  t.deepEqual(await runCli(['get', 'exchange/binance/api_secret'], { env }).then((r) => [r.code, r.stdout]), [0, 'vault "secret"\nline2\n']);
  t.deepEqual(await runCli(['get', 'exchange/gateio/api_key'], { env }).then((r) => [r.code, r.stdout]), [0, 'aws-key\n']);
  t.deepEqual(await runCli(['get', 'database/redis/password'], { env }).then((r) => [r.code, r.stdout]), [0, 'env-redis\n']);
});

test('get --json prints every key of a secret as one JSON document', async (t) => {
  const { env } = await backends(t);
  const result = await runCli(['get', 'exchange/binance', '--json'], { env });
  t.is(result.code, 0);
  t.deepEqual(JSON.parse(result.stdout), { api_key: 'vault-key', api_secret: 'vault "secret"\nline2', testnet: 'true' });
});

test('get of a missing secret exits 1 with the path on stderr and nothing on stdout', async (t) => {
  const { env } = await backends(t);
  const result = await runCli(['get', 'exchange/kraken/api_key'], { env });
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.true(logLines(result.stderr).some((line) => line['msg'] === 'Secret not found: exchange/kraken/api_key'));
});

test('get --backend uses that backend only', async (t) => {
  const { env } = await backends(t);
  t.is((await runCli(['get', 'exchange/gateio/api_key', '--backend', 'vault'], { env })).code, 1);
  t.is((await runCli(['get', 'exchange/gateio/api_key', '--backend', 'aws'], { env })).stdout, 'aws-key\n');
});

test('health reports every backend and exits 0 while the chain can serve', async (t) => {
  const { env, vault } = await backends(t);
  const healthy = await runCli(['health', '--json'], { env });
  t.is(healthy.code, 0, healthy.stderr);
  const report = JSON.parse(healthy.stdout) as { status: string; backends: Array<{ backend: string; reachable: boolean; authenticated: boolean; latencyMs: number }> };
  t.is(report.status, 'healthy');
  t.deepEqual(report.backends.map((entry) => [entry.backend, entry.reachable, entry.authenticated]), [['vault', true, true], ['aws', true, true], ['env', true, true]]);
  t.true(report.backends.every((entry) => typeof entry.latencyMs === 'number'));
  vault.setSealed(true);
  const text = await runCli(['health'], { env });
  t.is(text.code, 0, 'AWS still serves');
  t.regex(text.stdout, /^vault +unreachable/m);
  t.regex(text.stdout, /^healthy: the chain can serve$/m);
  const vaultOnly = await runCli(['health', '--backend', 'vault'], { env });
  t.is(vaultOnly.code, 1);
  t.regex(vaultOnly.stdout, /unhealthy/);
});

test('health against Vault Enterprise in namespace dsta: sys/health is asked at the root, so Vault is up', async (t) => {
  const { env, vault } = await backends(t, { enterprise: true });
  const result = await runCli(['health', '--backend', 'vault', '--json'], { env });
  t.is(result.code, 0, result.stdout + result.stderr);
  const report = JSON.parse(result.stdout) as { status: string; backends: Array<{ backend: string; reachable: boolean; authenticated: boolean }> };
  t.like(report, { status: 'healthy', backends: [{ backend: 'vault', reachable: true, authenticated: true }] });
  t.deepEqual(vault.counters.requests.filter((r) => r.route === 'health').map((r) => r.namespaceHeader), [undefined]);
});

test('no command prints a secret value except get', async (t) => {
  const { env } = await backends(t);
  for (const args of [['health'], ['health', '--json'], ['get', 'exchange/nope/x']]) {
    const result = await runCli(args, { env });
    t.false(`${result.stdout}${result.stderr}`.includes('vault-key'), args.join(' '));
  }
});
