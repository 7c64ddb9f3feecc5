// `audit` with per-secret periods, through the built CLI against both emulators (their clocks set back): a 30-day
// secret 40 days old is overdue, a 90-day secret 60 days old is not, a secret with no policy of its own 100 days
// old is judged by --max-age; each line shows period, due and auto, and exit 1 says one is past due.
import { join } from 'node:path';
import test from 'ava';
import { startAwsEmulator } from '../fakes/aws/emulator.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { runCli, scratch } from '../helpers/cli.js';
import { systemClock } from '../../agent/util/clock.js';
import { assertNoValues, awsEnv, vaultEnv } from '../cli/ops-world.js';

const DAY = 86_400_000;
const values = ['THIRTY-day-django-key-0000', 'NINETY-day-binance-key-1111', 'DEFAULT-redis-password-2222', 'THIRTY-day-aws-key-3333'];

interface Entry { path: string; backend: string | null; version: string | null; lastChanged: string | null; ageDays: number | null; period: string; due: string | null; auto: boolean; overdue: boolean }

async function world(t: import('ava').ExecutionContext): Promise<{ env: Record<string, string>; templates: string }> {
  let at = Date.now() - 40 * DAY;
  const vault = await startVaultEmulator({ namespace: 'dsta', clock: { ...systemClock, now: () => at } });
  let awsAt = Date.now() - 100 * DAY;
  const aws = await startAwsEmulator({ now: () => new Date(awsAt) });
  t.teardown(async () => {
    await vault.close();
    await aws.close();
  });
  vault.setSecret('app', { secret_key: values[0] });
  at = Date.now() - 60 * DAY;
  vault.setSecret('exchange/binance', { api_key: values[1] });
  aws.putSecret('dsta/database/redis', { password: values[2] });
  awsAt = Date.now() - 31 * DAY;
  aws.putSecret('dsta/monitoring/sentry_dsn', values[3] ?? '');
  const env = { ...vaultEnv(vault.address, vault.token), ...awsEnv(aws.endpoint) };
  const { dir, cleanup } = await scratch({
    'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\nB={{secret "exchange/binance/api_key"}}\nR={{secret "database/redis/password"}}\nS={{secret "monitoring/sentry_dsn"}}\n',
  });
  t.teardown(cleanup);
  // The policies are recorded as an operator would, later than the versions were written.
  at = Date.now();
  awsAt = Date.now();
  for (const [path, every] of [['app/secret_key', '30d'], ['exchange/binance/api_key', '90d'], ['monitoring/sentry_dsn', '30d']] as const) {
    const recorded = await runCli(['rotate', path, '--every', every], { env });
    t.is(recorded.code, 0, recorded.stderr);
  }
  return { env, templates: join(dir, 'templates') };
}

test('each secret is audited against its own period, else --max-age; --json shows period, due and auto', async (t) => {
  const { env, templates } = await world(t);
  const result = await runCli(['audit', '--json', '--templates', templates, '--max-age', '120d'], { env });
  t.is(result.code, 1, result.stderr);
  const byPath = new Map((JSON.parse(result.stdout) as Entry[]).map((entry) => [entry.path, entry]));
  t.like(byPath.get('app/secret_key'), { backend: 'vault', ageDays: 40, period: '30d', auto: false, overdue: true });
  t.like(byPath.get('exchange/binance/api_key'), { backend: 'vault', ageDays: 60, period: '90d', auto: false, overdue: false });
  t.like(byPath.get('database/redis/password'), { backend: 'aws', ageDays: 100, period: '120d', auto: false, overdue: false });
  t.like(byPath.get('monitoring/sentry_dsn'), { backend: 'aws', ageDays: 31, period: '30d', overdue: true });
  const binance = byPath.get('exchange/binance/api_key');
  t.is(binance?.due, new Date(Date.parse(binance?.lastChanged ?? '') + 90 * DAY).toISOString(), 'due = creation of the current version + period');
  const lenient = await runCli(['audit', '--templates', templates, '--max-age', '120d'], { env });
  t.regex(lenient.stdout, /^exchange\/binance\/api_key +vault +1 +\S+ +60d +90d +\S+ +- +ok$/m);
  t.regex(lenient.stdout, /^app\/secret_key +vault +1 +\S+ +40d +30d +\S+ +- +OVERDUE \(older than 30d\)$/m);
  t.regex(lenient.stdout, /^2 of 4 secret paths the templates use are past due/m);
  const strict = await runCli(['audit', '--json', '--templates', templates, '--max-age', '90d'], { env });
  t.like((JSON.parse(strict.stdout) as Entry[]).find((entry) => entry.path === 'database/redis/password'), { period: '90d', overdue: true });
  for (const each of [result, lenient, strict]) assertNoValues(t, each, values, 'audit');
});

test('auto shows for a generated secret with rotation-auto; a malformed policy is an error naming the path, exit 1', async (t) => {
  const { env, templates } = await world(t);
  const auto = await runCli(['rotate', 'app/secret_key', '--every', '30d', '--generate', '50', '--auto', '--backend', 'vault'], { env });
  t.is(auto.code, 0, auto.stderr);
  const result = await runCli(['audit', '--json', '--templates', templates], { env });
  t.like((JSON.parse(result.stdout) as Entry[]).find((entry) => entry.path === 'app/secret_key'), { period: '30d', auto: true, overdue: false, ageDays: 0 });
  await fetch(`${env['VAULT_ADDR'] ?? ''}/v1/secret/metadata/exchange/binance`, { method: 'PATCH', headers: { 'X-Vault-Token': env['VAULT_TOKEN'] ?? '', 'X-Vault-Namespace': 'dsta', 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ custom_metadata: { 'rotation-period': 'quarterly' } }) });
  const broken = await runCli(['audit', '--templates', templates, '--max-age', '365d'], { env });
  t.is(broken.code, 1);
  t.regex(broken.stderr, /the rotation policy of \\"exchange\/binance\/api_key\\" is not usable \(rotation-period: /);
});
