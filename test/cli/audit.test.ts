// `audit` in-process with an injected clock: the overdue boundary is exact, and the exit status follows it.
import { join } from 'node:path';
import test from 'ava';
import { auditCommand } from '../../agent/cli/audit.js';
import { createContext } from '../../agent/runtime/context.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { scratch } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { memoryIo, vaultEnv } from './ops-world.js';

const DAY = 86_400_000;

async function world(t: import('ava').ExecutionContext): Promise<{ env: Record<string, string>; templates: string; written: number }> {
  const clock = new FakeClock(Date.UTC(2026, 2, 1));
  const vault = await startVaultEmulator({ namespace: 'dsta', clock });
  t.teardown(() => vault.close());
  vault.setSecret('app', { secret_key: 'APP-secret-value-0000' });
  const { dir, cleanup } = await scratch({ 'templates/app.env.hbs': 'K={{secret "app/secret_key"}}\n' });
  t.teardown(cleanup);
  return { env: vaultEnv(vault.address, vault.token), templates: join(dir, 'templates'), written: clock.now() };
}

async function audit(env: Record<string, string>, templates: string, now: number, maxAge?: string): Promise<{ code: number; entries: Array<Record<string, unknown>>; logs: string }> {
  const { io, stdout, logs } = memoryIo(env);
  const context = await createContext(io, { templates });
  const code = await auditCommand(context, { json: true, clock: new FakeClock(now), ...(maxAge === undefined ? {} : { maxAge }) });
  return { code, entries: JSON.parse(stdout()) as Array<Record<string, unknown>>, logs: logs() };
}

test('a secret exactly max-age old is not overdue; one second later it is, and audit exits 1', async (t) => {
  const { env, templates, written } = await world(t);
  const onTheDay = await audit(env, templates, written + 90 * DAY);
  t.is(onTheDay.code, 0);
  t.deepEqual(onTheDay.entries, [{ path: 'app/secret_key', backend: 'vault', version: '1', lastChanged: new Date(written).toISOString(), ageDays: 90, period: '90d', due: new Date(written + 90 * DAY).toISOString(), auto: false, overdue: false }]);
  const late = await audit(env, templates, written + 90 * DAY + 1000);
  t.is(late.code, 1);
  t.like(late.entries[0], { ageDays: 90, overdue: true });
  t.false(late.logs.includes('APP-secret-value-0000'));
});

test('--max-age takes any duration, and a nonsense one is a usage error', async (t) => {
  const { env, templates, written } = await world(t);
  t.is((await audit(env, templates, written + 2 * 3_600_000, '1h')).code, 1);
  t.is((await audit(env, templates, written + 2 * 3_600_000, '1d')).code, 0);
  await t.throwsAsync(audit(env, templates, written, '0'), { message: /--max-age "0": it must be longer than 0/ });
  await t.throwsAsync(audit(env, templates, written, '90 days'), { message: /--max-age "90 days"/ });
});
