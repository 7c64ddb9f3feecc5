// One cycle, many secrets: BatchGetSecretValue in calls of at most 20 ids, per-secret Errors, the plain
// fallback batched too, and the permanent, logged-once switch to GetSecretValue when batch is denied.
import { errorOf } from './outcome.js';
import test from 'ava';
import type { SecretRef } from '../../agent/backends/backend.js';
import { refKey } from '../../agent/backends/backend.js';
import { emulated, fixture, onEmulator } from './aws/harness.js';

const value = (path: string): SecretRef => ({ kind: 'value', path });
const emulatorOnly = onEmulator ? test : test.skip;

/** 45 references to 45 JSON secrets: 30 value references and 15 map references. */
async function seed45(f: Awaited<ReturnType<typeof fixture>>): Promise<SecretRef[]> {
  const refs: SecretRef[] = [];
  await Promise.all(Array.from({ length: 45 }, async (_, index) => {
    await f.seed(`svc/s${index}`, { key: `v${index}`, other: 'o' });
  }));
  for (let index = 0; index < 45; index += 1) refs.push(index % 3 === 2 ? { kind: 'map', path: `svc/s${index}` } : value(`svc/s${index}/key`));
  return refs;
}

test('45 secrets fetched in a cycle with exactly 3 BatchGetSecretValue calls and 0 GetSecretValue calls', async (t) => {
  const f = await fixture(t);
  const refs = await seed45(f);
  const outcomes = await f.backend().fetchMany(refs);
  t.is(outcomes.size, 45);
  for (const [index, ref] of refs.entries()) {
    const expected = ref.kind === 'map' ? { key: `v${index}`, other: 'o' } : `v${index}`;
    t.like(outcomes.get(refKey(ref)), { status: 'found', data: expected });
  }
  t.is(f.calls['BatchGetSecretValue'], 3);
  t.is(f.calls['GetSecretValue'], undefined);
  if (f.emulator) {
    t.is(f.emulator.counters['BatchGetSecretValue'], 3, 'the server saw the same 3 calls');
    t.is(f.emulator.counters['GetSecretValue'], undefined);
  }
});

emulatorOnly('with batch denied the same cycle succeeds with GetSecretValue, later cycles never retry batch, and the switch is logged once', async (t) => {
  const f = await fixture(t);
  const refs = await seed45(f);
  emulated(f).faults.denyBatch = true;
  const backend = f.backend();
  const first = await backend.fetchMany(refs);
  t.is([...first.values()].filter((outcome) => outcome.status === 'found').length, 45);
  t.true(backend.batchDenied);
  const batchAfterFirst = emulated(f).counters['BatchGetSecretValue'];
  t.true(batchAfterFirst !== undefined && batchAfterFirst >= 1 && batchAfterFirst <= 3, 'the denied chunks were tried once each');
  t.is(emulated(f).counters['GetSecretValue'], 45);
  const second = await backend.fetchMany(refs);
  t.is([...second.values()].filter((outcome) => outcome.status === 'found').length, 45);
  t.is(emulated(f).counters['BatchGetSecretValue'], batchAfterFirst, 'the later cycle did not try batch again');
  t.is(emulated(f).counters['GetSecretValue'], 90);
  const fallbackLines = f.logs.filter((line) => line.includes('BatchGetSecretValue is denied'));
  t.is(fallbackLines.length, 1);
  t.like(JSON.parse(fallbackLines[0] ?? '{}'), { level: 40, component: 'aws' });
});

test('per-secret Errors make only that secret not found, and value references fall back to plain secrets in one more batch', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/binance', { api_key: 'bk', api_secret: 'bs' });
  await f.seed('app/secret_key', 'plain-app');
  await f.seed('monitoring/sentry_dsn', 'plain-sentry');
  const refs = [value('exchange/binance/api_key'), value('exchange/binance/api_secret'), value('app/secret_key'), value('monitoring/sentry_dsn'), value('database/postgres/password'), { kind: 'map', path: 'exchange/kraken' } as const];
  const outcomes = await f.backend().fetchMany(refs);
  t.like(outcomes.get('value:exchange/binance/api_key'), { status: 'found', data: 'bk' });
  t.like(outcomes.get('value:exchange/binance/api_secret'), { status: 'found', data: 'bs' });
  t.like(outcomes.get('value:app/secret_key'), { status: 'found', data: 'plain-app' });
  t.like(outcomes.get('value:monitoring/sentry_dsn'), { status: 'found', data: 'plain-sentry' });
  t.like(outcomes.get('value:database/postgres/password'), { status: 'not_found' });
  t.like(outcomes.get('map:exchange/kraken'), { status: 'not_found' });
  t.is(f.calls['BatchGetSecretValue'], 2, 'JSON secrets in one call, then the three plain candidates in another');
  t.is(f.calls['GetSecretValue'], undefined);
});

test('a second phase with a single plain secret uses GetSecretValue', async (t) => {
  const f = await fixture(t);
  await f.seed('a', { k: '1' });
  await f.seed('b/k', 'plain');
  const outcomes = await f.backend().fetchMany([value('a/k'), value('b/k')]);
  t.like(outcomes.get('value:b/k'), { status: 'found', data: 'plain' });
  t.is(f.calls['BatchGetSecretValue'], 1);
  t.is(f.calls['GetSecretValue'], 1);
});

emulatorOnly('a secret the policy denies is denied in the batch, for that secret only and without a plain fallback', async (t) => {
  const f = await fixture(t);
  await f.seed('open', { k: 'o' });
  await f.seed('closed', { k: 'c' });
  await f.seed('closed/k', 'plain must not be read');
  emulated(f).faults.deny.add('dsta/closed');
  const outcomes = await f.backend().fetchMany([value('open/k'), value('closed/k')]);
  t.like(outcomes.get('value:open/k'), { status: 'found', data: 'o' });
  const denied = outcomes.get('value:closed/k');
  t.is(denied?.status, 'denied');
  t.regex(denied?.status === 'denied' ? denied.reason : '', /^secret "dsta\/closed" in us-east-1: AccessDeniedException: User: .* not authorized to perform: secretsmanager:GetSecretValue/);
  t.is(f.calls['BatchGetSecretValue'], 1);
  t.is(f.calls['GetSecretValue'], undefined, 'no plain fallback after a denial');
});

test('a version stage other than AWSCURRENT reads each secret with GetSecretValue, since batch has no VersionStage', async (t) => {
  const f = await fixture(t);
  await f.seed('x', { k: 'x1' });
  await f.seed('x', { k: 'x2' });
  await f.seed('y', { k: 'y1' });
  await f.seed('y', { k: 'y2' });
  const outcomes = await f.backend({ versionStage: 'AWSPREVIOUS' }).fetchMany([value('x/k'), value('y/k')]);
  t.like(outcomes.get('value:x/k'), { status: 'found', data: 'x1' });
  t.like(outcomes.get('value:y/k'), { status: 'found', data: 'y1' });
  t.is(f.calls['BatchGetSecretValue'], undefined);
  t.is(f.calls['GetSecretValue'], 2);
});

test('references sharing a secret read it once, and a data error is only its own reference\'s outcome', async (t) => {
  const f = await fixture(t);
  await f.seed('shared', { a: '1', b: '2' });
  await f.seed('broken', 'not json');
  const refs = [value('shared/a'), value('shared/b'), { kind: 'map', path: 'shared' } as const, value('broken/k')];
  const outcomes = await f.backend().fetchMany(refs);
  t.deepEqual([...outcomes.keys()].sort(), ['map:shared', 'value:broken/k', 'value:shared/a', 'value:shared/b']);
  t.like(outcomes.get('value:shared/a'), { status: 'found', data: '1' });
  t.like(outcomes.get('value:broken/k'), { status: 'error', error: { code: 'ERR_BACKEND_DATA' } });
  t.is(f.calls['BatchGetSecretValue'], 1);
  t.is(f.calls['GetSecretValue'] ?? 0, 0, 'the broken secret is not read a second time');
  t.is((await errorOf(f.backend().fetch(value('broken/k')))).code, 'ERR_BACKEND_DATA');
});
