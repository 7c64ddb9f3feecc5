// `rotate` as an operator runs it: the built CLI writes a new version of one key in the Vault and AWS emulators
// with check-and-set, prints the version only, and fails cleanly - nothing overwritten - when another writer
// gets in between its read and its write (a proxy in front of the emulator times that second writer exactly).
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { logLines, runCli } from '../helpers/cli.js';
import { startHookProxy } from '../cli/hook-proxy.js';
import { assertNoValues, awsEnv, runCliWithInput, vaultEnv } from '../cli/ops-world.js';

const OLD = { api_key: 'OLD-binance-key-0000', api_secret: 'OLD-binance-secret-1111', testnet: 'false' };

async function vault(t: import('ava').ExecutionContext): Promise<{ server: Awaited<ReturnType<typeof startVaultEmulator>>; env: Record<string, string> }> {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  server.setSecret('exchange/binance', OLD);
  return { server, env: vaultEnv(server.address, server.token) };
}

async function vaultValue(env: Record<string, string>, path: string): Promise<string> {
  return (await runCli(['get', path, '--backend', 'vault'], { env })).stdout.replace(/\n$/, '');
}

test('rotate --generate writes a CSPRNG value with check-and-set and prints only the new version', async (t) => {
  const { server, env } = await vault(t);
  const result = await runCli(['rotate', 'exchange/binance/api_key', '--generate', '40'], { env });
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '2\n', 'stdout is the new version id and nothing else');
  const value = await vaultValue(env, 'exchange/binance/api_key');
  t.regex(value, /^[A-Za-z0-9]{40}$/);
  t.is(await vaultValue(env, 'exchange/binance/api_secret'), OLD.api_secret, 'the other keys are kept');
  const post = server.counters.requests.find((request) => request.method === 'POST' && request.path === 'secret/data/exchange/binance');
  t.deepEqual(post?.body?.['options'], { cas: 1 }, 'check-and-set on the version just read');
  assertNoValues(t, result, [value, OLD.api_key, OLD.api_secret], 'rotate');
  t.like(logLines(result.stderr).find((line) => line['component'] === 'audit'), { audit: true, event: 'rotate', path: 'exchange/binance/api_key', backend: 'vault', version: '2', outcome: 'written' });
  t.regex(result.stderr, /^next steps:$/m);
  t.regex(result.stderr, /every agent re-renders within one schedule \("\*\/5 \* \* \* \*"\)/);
  t.regex(result.stderr, /revoke the old credential at the exchange \(binance\) once nothing uses it/);
});

test('rotate --value-stdin stores the piped value without its trailing newline; --charset hex generates hex', async (t) => {
  const { env } = await vault(t);
  const piped = await runCliWithInput(['rotate', 'exchange/binance/api_secret', '--value-stdin'], { env, input: 'NEW-piped-secret-value-2222\n' });
  t.is(piped.code, 0, piped.stderr);
  t.is(piped.stdout, '2\n');
  t.is(await vaultValue(env, 'exchange/binance/api_secret'), 'NEW-piped-secret-value-2222');
  assertNoValues(t, piped, ['NEW-piped-secret-value-2222', OLD.api_secret], 'rotate --value-stdin');
  const hex = await runCli(['rotate', 'exchange/binance/api_key', '--generate', '32', '--charset', 'hex'], { env });
  t.is(hex.stdout, '3\n');
  t.regex(await vaultValue(env, 'exchange/binance/api_key'), /^[0-9a-f]{32}$/);
});

test('a write between rotate\'s read and its write makes it fail with exit 1 naming the path; nothing is overwritten or retried', async (t) => {
  const { server } = await vault(t);
  const concurrent = { ...OLD, api_key: 'CONCURRENT-writer-key-3333' };
  let raced = false;
  const proxy = await startHookProxy(server.address, (request) => {
    if (!raced && request.method === 'POST' && request.url.endsWith('/v1/secret/data/exchange/binance')) {
      raced = true;
      server.setSecret('exchange/binance', concurrent);
    }
  });
  t.teardown(() => proxy.close());
  const result = await runCli(['rotate', 'exchange/binance/api_key', '--generate', '32'], { env: vaultEnv(proxy.address, server.token) });
  t.true(raced, 'the second writer ran between the read and the write');
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /secrets-agent: rotate exchange\/binance\/api_key: vault: check-and-set conflict writing "exchange\/binance" \(mount "secret"\): the secret is no longer at version 1; someone wrote in between and nothing was overwritten/);
  t.regex(result.stderr, / - not retried: find out who changed it, then run rotate again$/m);
  t.like(logLines(result.stderr).find((line) => line['component'] === 'audit'), { event: 'rotate', path: 'exchange/binance/api_key', outcome: 'conflict', code: 'ERR_CAS_CONFLICT' });
  t.is(server.counters.count({ method: 'POST', path: 'secret/data/exchange/binance' }), 1, 'no automatic retry');
  const env = vaultEnv(server.address, server.token);
  t.is(await vaultValue(env, 'exchange/binance/api_key'), concurrent.api_key, 'the concurrent write survives');
  t.notRegex(result.stderr, /next steps/);
  assertNoValues(t, result, [concurrent.api_key, OLD.api_key, OLD.api_secret], 'a rotate that lost the race');
});

test('rotate in AWS merges the key into the JSON secret with PutSecretValue and prints the new VersionId', async (t) => {
  const aws = await startAwsEmulator();
  t.teardown(() => aws.close());
  aws.putSecret('dsta/exchange/gateio', { api_key: 'OLD-gateio-key-4444', api_secret: 'OLD-gateio-secret-5555' });
  const result = await runCli(['rotate', 'exchange/gateio/api_secret', '--generate', '48', '--backend', 'aws'], { env: awsEnv(aws.endpoint) });
  t.is(result.code, 0, result.stderr);
  const current = aws.versions('dsta/exchange/gateio').find((version) => version.stages.includes('AWSCURRENT'));
  t.is(result.stdout, `${current?.id ?? '?'}\n`);
  const stored = JSON.parse(String(current?.value)) as Record<string, string>;
  t.is(stored['api_key'], 'OLD-gateio-key-4444');
  t.regex(stored['api_secret'] ?? '', /^[A-Za-z0-9]{48}$/);
  assertNoValues(t, result, [stored['api_secret'] ?? '', 'OLD-gateio-key-4444', 'OLD-gateio-secret-5555'], 'rotate in AWS');
  t.regex(result.stderr, /the previous value stays readable in AWS as AWSPREVIOUS/);
});

test('a write in AWS between rotate\'s read and its write fails with exit 1 naming the path; the other value stays current', async (t) => {
  const aws = await startAwsEmulator();
  t.teardown(() => aws.close());
  aws.putSecret('dsta/exchange/gateio', { api_key: 'OLD-gateio-key-4444', api_secret: 'OLD-gateio-secret-5555' });
  let raced = false;
  const proxy = await startHookProxy(aws.endpoint, (request) => {
    if (!raced && request.headers['x-amz-target'] === 'secretsmanager.DescribeSecret') {
      raced = true;
      aws.putSecret('dsta/exchange/gateio', { api_key: 'OLD-gateio-key-4444', api_secret: 'CONCURRENT-gateio-secret-6666' });
    }
  });
  t.teardown(() => proxy.close());
  const result = await runCli(['rotate', 'exchange/gateio/api_secret', '--generate', '32'], { env: awsEnv(proxy.address) });
  t.true(raced);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /rotate exchange\/gateio\/api_secret: aws backend: secret "dsta\/exchange\/gateio" in us-east-1 changed while it was being updated .*nothing was written/);
  t.is(aws.counters['PutSecretValue'] ?? 0, 0, 'nothing written, nothing retried');
  const current = aws.versions('dsta/exchange/gateio').find((version) => version.stages.includes('AWSCURRENT'));
  t.is((JSON.parse(String(current?.value)) as Record<string, string>)['api_secret'], 'CONCURRENT-gateio-secret-6666');
  assertNoValues(t, result, ['CONCURRENT-gateio-secret-6666', 'OLD-gateio-secret-5555'], 'a rotate that lost the race in AWS');
});

test('rotate refuses bad usage with exit 2, a read-only backend with exit 2, and a missing secret with exit 1', async (t) => {
  const { env } = await vault(t);
  const neither = await runCli(['rotate', 'exchange/binance/api_key'], { env });
  t.is(neither.code, 2);
  t.regex(neither.stderr, /give --value-stdin or --generate N to write a new value, or --every 90d to record the rotation period/);
  t.is((await runCliWithInput(['rotate', 'exchange/binance/api_key', '--generate', '32', '--value-stdin'], { env, input: 'x' })).code, 2);
  const short = await runCli(['rotate', 'exchange/binance/api_key', '--generate', '8'], { env });
  t.is(short.code, 2);
  t.regex(short.stderr, /--generate expects a whole number of characters from 16 to 4096, got "8"/);
  t.is((await runCli(['rotate', 'exchange/binance/api_key', '--generate', '32', '--charset', 'emoji'], { env })).code, 2);
  t.is((await runCli(['rotate', 'binance', '--generate', '32'], { env })).code, 2);
  t.is((await runCliWithInput(['rotate', 'exchange/binance/api_key', '--value-stdin'], { env, input: '\n' })).code, 2);
  const readOnly = await runCli(['rotate', 'app/secret_key', '--generate', '32', '--backend', 'env'], { env: { SECRET_KEY: 'ENV-secret-key-7777' } });
  t.is(readOnly.code, 2);
  t.regex(readOnly.stderr, /the env backend is read-only/);
  const missing = await runCli(['rotate', 'exchange/kraken/api_key', '--generate', '32'], { env });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /Secret not found: exchange\/kraken\/api_key/);
  const missingForced = await runCli(['rotate', 'exchange/kraken/api_key', '--generate', '32', '--backend', 'vault'], { env });
  t.is(missingForced.code, 1);
  t.regex(missingForced.stderr, /the secret "exchange\/kraken" does not exist; rotate writes new versions of existing secrets - create it first \(migrate\)/);
});
