// `audit` as an operator runs it: the built CLI reads the age of every secret the templates use from the Vault
// and AWS emulators (their clocks set back to make old secrets), flags the overdue ones and exits 1 for them.
import { join } from 'node:path';
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { runCli, scratch } from '../helpers/cli.js';
import { systemClock } from '../../agent/util/clock.js';
import { assertNoValues, awsEnv, vaultEnv } from '../cli/ops-world.js';

const DAY = 86_400_000;
const values = ['OLD-binance-key-0000', 'OLD-binance-secret-1111', 'FRESH-app-secret-key-2222', 'OLD-gateio-key-3333', 'FRESH-redis-password-4444'];

/** Vault and AWS with secrets of known ages, and templates that use them. */
async function world(t: import('ava').ExecutionContext): Promise<{ env: Record<string, string>; templates: string; dir: string }> {
  let at: number | undefined = Date.now() - 120 * DAY;
  const clock = { ...systemClock, now: () => at ?? Date.now() };
  const vault = await startVaultEmulator({ namespace: 'dsta', clock });
  let awsAt = Date.now() - 100 * DAY;
  const aws = await startAwsEmulator({ now: () => new Date(awsAt) });
  t.teardown(async () => {
    await vault.close();
    await aws.close();
  });
  vault.setSecret('exchange/binance', { api_key: values[0], api_secret: values[1] });
  at = Date.now() - 10 * DAY;
  vault.setSecret('app', { secret_key: values[2] });
  at = undefined;
  aws.putSecret('dsta/exchange/gateio', { api_key: values[3] });
  awsAt = Date.now() - 5 * DAY;
  aws.putSecret('dsta/database/redis', { password: values[4] });
  const { dir, cleanup } = await scratch({
    'templates/app.env.hbs': 'A={{secret "exchange/binance/api_key"}}\nB={{secret "exchange/binance/api_secret"}}\nK={{secret "app/secret_key"}}\nS={{secret "monitoring/sentry_dsn" default=""}}\n',
    'templates/other.env.hbs': 'G={{secret "exchange/gateio/api_key"}}\nR={{secret "database/redis/password"}}\n',
  });
  t.teardown(cleanup);
  return { env: { ...vaultEnv(vault.address, vault.token), ...awsEnv(aws.endpoint) }, templates: join(dir, 'templates'), dir };
}

interface Entry { path: string; backend: string | null; version: string | null; lastChanged: string | null; ageDays: number | null; period: string; due: string | null; auto: boolean; overdue: boolean }

test('audit --json lists every path the templates use with backend, version, last change and age, and exits 1 when any is overdue', async (t) => {
  const { env, templates } = await world(t);
  const result = await runCli(['audit', '--json', '--templates', templates], { env });
  t.is(result.code, 1, result.stderr);
  const entries = JSON.parse(result.stdout) as Entry[];
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  t.deepEqual(entries.map((entry) => entry.path).sort(), ['app/secret_key', 'database/redis/password', 'exchange/binance/api_key', 'exchange/binance/api_secret', 'exchange/gateio/api_key', 'monitoring/sentry_dsn']);
  t.deepEqual(Object.keys(entries[0] ?? {}), ['path', 'backend', 'version', 'lastChanged', 'ageDays', 'period', 'due', 'auto', 'overdue']);
  t.like(byPath.get('exchange/binance/api_key'), { backend: 'vault', version: '1', ageDays: 120, overdue: true });
  t.like(byPath.get('exchange/binance/api_secret'), { backend: 'vault', ageDays: 120, overdue: true });
  t.like(byPath.get('app/secret_key'), { backend: 'vault', version: '1', ageDays: 10, overdue: false });
  t.like(byPath.get('exchange/gateio/api_key'), { backend: 'aws', ageDays: 100, overdue: true });
  t.regex(byPath.get('exchange/gateio/api_key')?.version ?? '', /^[0-9a-f-]{36}$/);
  t.like(byPath.get('database/redis/password'), { backend: 'aws', ageDays: 5, overdue: false });
  t.like(byPath.get('monitoring/sentry_dsn'), { backend: null, version: null, lastChanged: null, ageDays: null, overdue: false });
  t.true(Math.abs(Date.parse(byPath.get('app/secret_key')?.lastChanged ?? '') - (Date.now() - 10 * DAY)) < 60_000);
  assertNoValues(t, result, values, 'audit --json');
});

test('audit exits 0 when nothing is older than --max-age, and prints a table with a summary', async (t) => {
  const { env, templates } = await world(t);
  const relaxed = await runCli(['audit', '--max-age', '200d', '--templates', templates], { env });
  t.is(relaxed.code, 0, relaxed.stderr);
  t.regex(relaxed.stdout, /^PATH +BACKEND +VERSION +LAST CHANGED +AGE +PERIOD +DUE +AUTO +STATUS$/m);
  t.regex(relaxed.stdout, /^exchange\/binance\/api_key +vault +1 +\S+ +120d +200d +\S+ +- +ok$/m);
  t.regex(relaxed.stdout, /^monitoring\/sentry_dsn +- +- +- +- +200d +- +- +not found$/m);
  t.regex(relaxed.stdout, /^0 of 6 secret paths the templates use are past due \(their own rotation period, else 200d\)$/m);
  const strict = await runCli(['audit', '--templates', templates], { env });
  t.is(strict.code, 1);
  t.regex(strict.stdout, /^exchange\/gateio\/api_key +aws +[0-9a-f-]{36} +\S+ +100d +90d +\S+ +- +OVERDUE \(older than 90d\)$/m);
  t.regex(strict.stdout, /^3 of 6 secret paths the templates use are past due \(their own rotation period, else 90d\)$/m);
  assertNoValues(t, strict, values, 'audit');
  t.is((await runCli(['audit', '--max-age', 'soon', '--templates', templates], { env })).code, 2);
});

test('audit --all PREFIX lists every secret under the prefix in Vault and AWS, whether or not a template uses it', async (t) => {
  const { env, dir } = await world(t);
  const result = await runCli(['audit', '--all', 'exchange', '--json', '--templates', join(dir, 'nowhere')], { env });
  t.is(result.code, 1, result.stderr);
  const entries = JSON.parse(result.stdout) as Entry[];
  t.deepEqual(entries.map((entry) => [entry.path, entry.backend, entry.ageDays]), [['exchange/binance', 'vault', 120], ['exchange/gateio', 'aws', 100]]);
  const everything = await runCli(['audit', '--all', '--max-age', '365d', '--json'], { env });
  t.is(everything.code, 0, everything.stderr);
  t.deepEqual((JSON.parse(everything.stdout) as Entry[]).map((entry) => entry.path), ['app', 'exchange/binance', 'database/redis', 'exchange/gateio']);
  assertNoValues(t, everything, values, 'audit --all');
});
