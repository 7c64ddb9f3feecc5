// The migrate plan against an in-memory SecretWriter (the real interface): one write per secret, create-only
// by default, merges only with --overwrite, and a failure mid-way reports what was already written.
import test from 'ava';
import { AgentError, isAgentError } from '../../agent/errors.js';
import { applyPlan, planMigration } from '../../agent/ops/migrate-plan.js';
import type { SecretWriter, StoredSecret } from '../../agent/ops/writer.js';

function memoryWriter(initial: Record<string, Record<string, string>> = {}, failOn?: string): SecretWriter & { store: Map<string, StoredSecret>; writes: string[] } {
  const store = new Map<string, StoredSecret>(Object.entries(initial).map(([secret, data]) => [secret, { data, version: '1' }]));
  const writes: string[] = [];
  const put = (secret: string, data: Record<string, string>): { version: string } => {
    if (secret === failOn) throw new AgentError('ERR_CAS_CONFLICT', `conflict on "${secret}"`, { details: { path: secret } });
    const version = String(Number(store.get(secret)?.version ?? '0') + 1);
    store.set(secret, { data, version });
    writes.push(secret);
    return { version };
  };
  return {
    backend: 'vault',
    store,
    writes,
    read: (secret) => Promise.resolve(store.get(secret)),
    create: (secret, data) => Promise.resolve(put(secret, { ...data })),
    merge: (secret, data, read) => Promise.resolve(put(secret, { ...read.data, ...data })),
  };
}

const groups = new Map([
  ['app', new Map([['secret_key', 'k']])],
  ['database/redis', new Map([['password', 'p']])],
  ['exchange/binance', new Map([['api_key', 'a'], ['api_secret', 's']])],
]);

test('each secret is planned as create, unchanged, merge or conflict from what the backend holds', async (t) => {
  const writer = memoryWriter({ app: { secret_key: 'k' }, 'exchange/binance': { api_key: 'other' } });
  const plans = await planMigration(writer, groups, false);
  t.deepEqual(plans.map(({ secret, action, changed, added }) => [secret, action, changed, added]), [
    ['app', 'unchanged', [], []],
    ['database/redis', 'create', [], []],
    ['exchange/binance', 'conflict', ['api_key'], ['api_secret']],
  ]);
  t.is((await planMigration(writer, groups, true))[2]?.action, 'merge');
});

test('applying writes each secret once and merges keep the keys already there', async (t) => {
  const writer = memoryWriter({ 'exchange/binance': { api_key: 'other', testnet: 'true' } });
  const { written, failure } = await applyPlan(writer, await planMigration(writer, groups, true));
  t.is(failure, undefined);
  t.deepEqual(written, [{ secret: 'app', action: 'create', version: '1' }, { secret: 'database/redis', action: 'create', version: '1' }, { secret: 'exchange/binance', action: 'merge', version: '2' }]);
  t.deepEqual(writer.writes, ['app', 'database/redis', 'exchange/binance']);
  t.deepEqual(writer.store.get('exchange/binance')?.data, { api_key: 'a', testnet: 'true', api_secret: 's' });
});

test('a failure stops the run and names the secret, with the secrets already written', async (t) => {
  const writer = memoryWriter({}, 'database/redis');
  const { written, failure } = await applyPlan(writer, await planMigration(writer, groups, false));
  t.deepEqual(written.map((entry) => entry.secret), ['app']);
  t.true(isAgentError(failure, 'ERR_CAS_CONFLICT'));
  t.is(failure?.message, 'migrate: secret "database/redis" in vault: conflict on "database/redis"');
  t.deepEqual(writer.writes, ['app'], 'nothing after the failure is written');
});
