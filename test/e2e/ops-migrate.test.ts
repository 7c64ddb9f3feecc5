// `migrate` as an operator runs it: the built CLI moves the seed's .env into the Vault and AWS emulators, and
// the agent renders the same values back. No run prints a value.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { parseAssignments } from '../../agent/template/assignments.js';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { logLines, root, runCli, scratch } from '../helpers/cli.js';
import { startHookProxy } from '../cli/hook-proxy.js';
import { assertNoValues, awsEnv, seed, seedFile, seedSecrets, seedValue, vaultEnv } from '../cli/ops-world.js';

async function vault(t: import('ava').ExecutionContext): Promise<{ server: Awaited<ReturnType<typeof startVaultEmulator>>; env: Record<string, string> }> {
  const server = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => server.close());
  return { server, env: vaultEnv(server.address, server.token) };
}

/** The seed's layout as Vault should hold it after a migrate. */
const layout: Readonly<Record<string, Readonly<Record<string, string | undefined>>>> = {
  app: { secret_key: seed['SECRET_KEY'] },
  'exchange/binance': { api_key: seed['BINANCE_API_KEY'], api_secret: seed['BINANCE_API_SECRET'], testnet: seed['BINANCE_TESTNET'] },
  'exchange/gateio': { api_key: seed['GATEIO_API_KEY'], api_secret: seed['GATEIO_API_SECRET'] },
  'exchange/kraken': { api_key: seed['KRAKEN_API_KEY'], api_secret: seed['KRAKEN_API_SECRET'], passphrase: seed['KRAKEN_PASSPHRASE'] },
  'database/postgres': { host: seed['POSTGRES_HOST'], port: seed['POSTGRES_PORT'], user: seed['POSTGRES_USER'], password: seed['POSTGRES_PASSWORD'], database: seed['POSTGRES_DB'] },
  'database/redis': { password: seed['REDIS_PASSWORD'] },
  monitoring: { sentry_dsn: seed['SENTRY_DSN'] },
  notifications: { slack_webhook_url: seed['SLACK_WEBHOOK_URL'], telegram_bot_token: seed['TELEGRAM_BOT_TOKEN'] },
};

const kvWrites = { route: 'kv', method: 'POST' } as const;

test('migrate --dry-run names every target secret and key, lists unmapped variables, writes nothing and prints no value', async (t) => {
  const { server, env } = await vault(t);
  const result = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault', '--dry-run'], { env });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^migrate .*seed\.env -> vault \(mount "secret", namespace "dsta"\): 23 variables, 8 secrets$/m);
  t.regex(result.stdout, /^ {2}\+ exchange\/binance: api_key, api_secret, testnet \(would create\)$/m);
  t.regex(result.stdout, /^ {2}\+ database\/postgres: host, port, user, password, database \(would create\)$/m);
  t.regex(result.stdout, /^ {2}\+ notifications: slack_webhook_url, telegram_bot_token \(would create\)$/m);
  t.regex(result.stdout, /^unmapped, not migrated \(give them a place with --map FILE\): ENVIRONMENT, LOG_LEVEL, DEBUG, REDIS_HOST, TELEGRAM_CHAT_ID$/m);
  t.regex(result.stdout, /^dry run: 8 to create, 0 to merge, 0 unchanged; nothing was written$/m);
  t.is(server.counters.count(kvWrites), 0);
  assertNoValues(t, result, seedSecrets, 'migrate --dry-run');
});

test('migrate round-trips the seed .env into Vault, and once renders the same values back', async (t) => {
  const { env } = await vault(t);
  const migrated = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault'], { env });
  t.is(migrated.code, 0, migrated.stderr);
  t.regex(migrated.stdout, /^ {2}\+ exchange\/binance: api_key, api_secret, testnet \(created, version 1\)$/m);
  t.regex(migrated.stdout, /^wrote 8 secrets \(8 created, 0 merged\), 0 unchanged$/m);
  assertNoValues(t, migrated, seedSecrets, 'migrate');
  const audit = logLines(migrated.stderr).filter((line) => line['component'] === 'audit');
  t.is(audit.length, 8, 'one audit record per secret written');
  t.like(audit.find((line) => line['path'] === 'exchange/binance'), { event: 'migrate', backend: 'vault', version: '1', outcome: 'created', keys: ['api_key', 'api_secret', 'testnet'] });

  for (const [secret, keys] of Object.entries(layout)) {
    const got = await runCli(['get', secret, '--json', '--backend', 'vault'], { env });
    t.deepEqual(JSON.parse(got.stdout), keys, secret);
  }

  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const once = await runCli(['once', '--templates', join(root, 'templates'), '--output', join(dir, 'out')], { env });
  t.is(once.code, 0, once.stderr);
  assertNoValues(t, once, seedSecrets, 'once');
  const rendered: Record<string, string> = {};
  for (const name of ['app.env', 'database.env']) {
    for (const { key, value } of parseAssignments('dotenv', await readFile(join(dir, 'out', name), 'utf8'))) rendered[key] = value;
  }
  t.true(Object.keys(rendered).length >= 14);
  for (const [key, value] of Object.entries(rendered)) t.is(value, seedValue(key), `${key} rendered back as it was in the .env`);
  const json = JSON.parse(await readFile(join(dir, 'out/config.json'), 'utf8')) as { exchanges: { gateio: { api_secret: string } }; database: { password: string; port: string }; sentry_dsn: string };
  t.is(json.exchanges.gateio.api_secret, seedValue('GATEIO_API_SECRET'));
  t.is(json.database.password, seedValue('POSTGRES_PASSWORD'));
  t.is(json.sentry_dsn, seedValue('SENTRY_DSN'));
});

test('a second migrate writes nothing and says so', async (t) => {
  const { server, env } = await vault(t);
  t.is((await runCli(['migrate', '--from-env', seedFile, '--to', 'vault'], { env })).code, 0);
  const writes = server.counters.count(kvWrites);
  const again = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault'], { env });
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /^ {2}= exchange\/binance: api_key, api_secret, testnet \(unchanged\)$/m);
  t.regex(again.stdout, /^nothing to write: all 8 secrets already hold these values$/m);
  t.is(server.counters.count(kvWrites), writes, 'no write request');
  assertNoValues(t, again, seedSecrets, 'a second migrate');
});

test('an existing secret with other values is never overwritten; --overwrite merges into it with check-and-set', async (t) => {
  const { server, env } = await vault(t);
  server.setSecret('app', { secret_key: 'OTHER-existing-secret-key', debug_token: 'KEEP-this-one' });
  const refused = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault'], { env });
  t.is(refused.code, 1);
  t.regex(refused.stdout, /^ {2}! app: secret_key changed \(exists with other values; not written without --overwrite\)$/m);
  t.regex(refused.stdout, /^nothing was written: 7 to create, 0 to merge, 0 unchanged, 1 exist with other values \(--overwrite merges\)$/m);
  t.true(logLines(refused.stderr).some((line) => line['level'] === 'error' && String(line['msg']).includes('(app); nothing was written - run with --overwrite')));
  t.is(server.counters.count(kvWrites), 0, 'nothing at all is written while a conflict stands');
  assertNoValues(t, refused, [...seedSecrets, 'OTHER-existing-secret-key', 'KEEP-this-one'], 'a refused migrate');

  const merged = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault', '--overwrite'], { env });
  t.is(merged.code, 0, merged.stderr);
  t.regex(merged.stdout, /^ {2}~ app: secret_key changed \(merged, version 2\)$/m);
  t.regex(merged.stdout, /^wrote 8 secrets \(7 created, 1 merged\), 0 unchanged$/m);
  const app = await runCli(['get', 'app', '--json'], { env });
  t.deepEqual(JSON.parse(app.stdout), { secret_key: seed['SECRET_KEY'], debug_token: 'KEEP-this-one' });
  const cas = server.counters.requests.filter((request) => request.method === 'POST' && request.path === 'secret/data/app').map((request) => (request.body?.['options'] as { cas?: number } | undefined)?.cas);
  t.deepEqual(cas, [1], 'the merge is a check-and-set on the version read');
});

test('a secret created by someone else between the plan and the write is a conflict naming it; their value stays', async (t) => {
  const { server } = await vault(t);
  let raced = false;
  const proxy = await startHookProxy(server.address, (request) => {
    if (!raced && request.method === 'POST' && request.url.endsWith('/v1/secret/data/database/redis')) {
      raced = true;
      server.setSecret('database/redis', { password: 'CONCURRENT-writer-password' });
    }
  });
  t.teardown(() => proxy.close());
  const result = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault'], { env: vaultEnv(proxy.address, server.token) });
  t.true(raced);
  t.is(result.code, 1);
  t.regex(result.stderr, /migrate: secret "database\/redis" in vault: vault: check-and-set conflict writing "database\/redis"/);
  t.regex(result.stderr, /run migrate again: it skips what is already there/);
  const redis = await runCli(['get', 'database/redis/password'], { env: vaultEnv(server.address, server.token) });
  t.is(redis.stdout, 'CONCURRENT-writer-password\n', 'the concurrent write is not overwritten');
  assertNoValues(t, result, [...seedSecrets, 'CONCURRENT-writer-password'], 'a migrate that lost a race');
});

test('migrate --map places variables the layout does not know and leaves others out on purpose', async (t) => {
  const { server, env } = await vault(t);
  const { dir, cleanup } = await scratch({ 'map.yaml': 'TELEGRAM_CHAT_ID: notifications/telegram_chat_id\nREDIS_HOST: database/redis/host\nDEBUG: false\nKRAKEN_PASSPHRASE: false\n' });
  t.teardown(cleanup);
  const result = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault', '--map', join(dir, 'map.yaml')], { env });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^unmapped, not migrated \(give them a place with --map FILE\): ENVIRONMENT, LOG_LEVEL$/m);
  t.regex(result.stdout, /^left out by --map: DEBUG, KRAKEN_PASSPHRASE$/m);
  t.regex(result.stdout, /^ {2}\+ notifications: slack_webhook_url, telegram_bot_token, telegram_chat_id \(created, version 1\)$/m);
  t.regex(result.stdout, /^ {2}\+ exchange\/kraken: api_key, api_secret \(created, version 1\)$/m);
  t.is(server.counters.count(kvWrites), 8);
  t.is((await runCli(['get', 'database/redis/host'], { env })).stdout, 'redis\n');
});

test('a .env line that dotenv readers disagree on stops migrate before anything is written, naming the line', async (t) => {
  const { server, env } = await vault(t);
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  await writeFile(join(dir, 'bad.env'), 'SECRET_KEY=FAKE-fine-value-123\nREDIS_PASSWORD=FAKE#hash-inside\n');
  const result = await runCli(['migrate', '--from-env', join(dir, 'bad.env'), '--to', 'vault'], { env });
  t.is(result.code, 1);
  t.regex(result.stderr, /bad\.env: line 2: a hash sign inside an unquoted value/);
  t.is(result.stdout, '');
  t.is(server.counters.count(kvWrites), 0);
  assertNoValues(t, result, ['FAKE-fine-value-123', 'FAKE#hash-inside', 'hash-inside'], 'a refused .env');
});

test('migrate --to aws creates one JSON secret per group, and a second run writes nothing', async (t) => {
  const aws = await startAwsEmulator();
  t.teardown(() => aws.close());
  const env = awsEnv(aws.endpoint);
  const dry = await runCli(['migrate', '--from-env', seedFile, '--to', 'aws', '--dry-run'], { env });
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /-> aws \(prefix "dsta\/", region us-east-1\): 23 variables, 8 secrets/);
  t.is(aws.counters['CreateSecret'] ?? 0, 0);
  assertNoValues(t, dry, seedSecrets, 'migrate --to aws --dry-run');

  const result = await runCli(['migrate', '--from-env', seedFile, '--to', 'aws'], { env });
  t.is(result.code, 0, result.stderr);
  t.is(aws.counters['CreateSecret'], 8, 'one CreateSecret per secret');
  t.regex(result.stdout, /^ {2}\+ exchange\/binance: api_key, api_secret, testnet \(created, version [0-9a-f-]{36}\)$/m);
  for (const [secret, keys] of Object.entries(layout)) {
    t.deepEqual(JSON.parse(String(aws.versions(`dsta/${secret}`)[0]?.value)), keys, secret);
  }
  assertNoValues(t, result, seedSecrets, 'migrate --to aws');

  const again = await runCli(['migrate', '--from-env', seedFile, '--to', 'aws'], { env });
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /^nothing to write: all 8 secrets already hold these values$/m);
  t.is(aws.counters['CreateSecret'], 8);
  t.is(aws.counters['PutSecretValue'] ?? 0, 0);
});

test('migrate --to aws refuses to change an existing secret unless --overwrite merges the keys', async (t) => {
  const aws = await startAwsEmulator();
  t.teardown(() => aws.close());
  const env = awsEnv(aws.endpoint);
  aws.putSecret('dsta/database/redis', { password: 'OTHER-redis-password', host: 'redis.internal' });
  const refused = await runCli(['migrate', '--from-env', seedFile, '--to', 'aws'], { env });
  t.is(refused.code, 1);
  t.regex(refused.stdout, /^ {2}! database\/redis: password changed/m);
  t.is(aws.counters['CreateSecret'] ?? 0, 0);
  const merged = await runCli(['migrate', '--from-env', seedFile, '--to', 'aws', '--overwrite'], { env });
  t.is(merged.code, 0, merged.stderr);
  t.regex(merged.stdout, /^ {2}~ database\/redis: password changed \(merged, version [0-9a-f-]{36}\)$/m);
  t.deepEqual(JSON.parse(String(aws.versions('dsta/database/redis').at(-1)?.value)), { password: seed['REDIS_PASSWORD'], host: 'redis.internal' });
  assertNoValues(t, merged, [...seedSecrets, 'OTHER-redis-password'], 'migrate --overwrite');
});

test('migrate without --to or with an unknown target is a usage error (exit 2)', async (t) => {
  t.is((await runCli(['migrate', '--from-env', seedFile])).code, 2);
  t.is((await runCli(['migrate', '--from-env', seedFile, '--to', 'file'])).code, 2);
  const unconfigured = await runCli(['migrate', '--from-env', seedFile, '--to', 'vault']);
  t.is(unconfigured.code, 78);
  t.regex(unconfigured.stderr, /vault\.address \(VAULT_ADDR\) is not set/);
});
