import test from 'ava';
import type { Backend, BackendName, Outcome, SecretRef } from '../../agent/backends/backend.js';
import { refKey } from '../../agent/backends/backend.js';
import { isAgentError } from '../../agent/errors.js';
import { SecretStore } from '../../agent/store/store.js';
import { FakeClock, flush, sequence } from '../helpers/fake-clock.js';

/** A backend answering from a mutable table, optionally in batches, counting calls and concurrency. */
class TableBackend implements Backend {
  calls = 0;
  batches: string[][] = [];
  active = 0;
  maxActive = 0;
  down = false;
  constructor(readonly name: BackendName, public table: Record<string, Outcome>, batching = false) {
    if (batching) this.fetchMany = (refs) => this.#many(refs);
  }
  fetchMany?: (refs: readonly SecretRef[]) => Promise<Map<string, Outcome>>;
  async fetch(ref: SecretRef): Promise<Outcome> {
    this.calls++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await new Promise((resolve) => setImmediate(resolve));
    this.active--;
    return this.down ? { status: 'unavailable', reason: 'connection refused' } : (this.table[ref.path] ?? { status: 'not_found' });
  }
  isAvailable(): Promise<boolean> {
    return Promise.resolve(!this.down);
  }
  async #many(refs: readonly SecretRef[]): Promise<Map<string, Outcome>> {
    this.batches.push(refs.map((ref) => ref.path));
    await Promise.resolve();
    return new Map(refs.map((ref) => [refKey(ref), this.down ? { status: 'unavailable', reason: 'down' } : (this.table[ref.path] ?? { status: 'not_found' })]));
  }
}

const value = (path: string): SecretRef => ({ kind: 'value', path });

test('a path that Vault served keeps its value, stale, when Vault goes down, even though env holds another', async (t) => {
  const vault = new TableBackend('vault', { 'app/key': { status: 'found', data: 'from-vault', version: '3' } });
  const env = new TableBackend('env', { 'app/key': { status: 'found', data: 'from-env' } });
  const store = new SecretStore({ chain: [vault, env] });
  t.like(await store.resolve({ ref: value('app/key') }), { status: 'found', data: 'from-vault', backend: 'vault' });
  vault.down = true;
  const stale = await store.resolve({ ref: value('app/key') });
  t.like(stale, { status: 'found', data: 'from-vault', backend: 'vault', version: '3', stale: { reason: 'connection refused' } });
  t.is(env.calls, 0, 'the lower backend is not even asked');
});

test('a path never served by a down backend falls to the next one', async (t) => {
  const vault = new TableBackend('vault', {});
  vault.down = true;
  const env = new TableBackend('env', { 'app/key': { status: 'found', data: 'from-env' } });
  t.like(await new SecretStore({ chain: [vault, env] }).resolve({ ref: value('app/key') }), { status: 'found', data: 'from-env', backend: 'env' });
});

test('a batching backend behind another one is still asked in one batch per round', async (t) => {
  const file = new TableBackend('file', { 'a/1': { status: 'found', data: 'f' } });
  const aws = new TableBackend('aws', Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`b/${i}`, { status: 'found', data: `v${i}` }])), true);
  const store = new SecretStore({ chain: [file, aws] });
  const results = await store.resolveAll([value('a/1'), ...Array.from({ length: 10 }, (_, i) => value(`b/${i}`))].map((ref) => ({ ref })));
  t.is(aws.batches.length, 1);
  t.is(aws.batches[0]?.length, 10);
  t.is(aws.calls, 0);
  t.is([...results.values()].filter((r) => r.status === 'found').length, 11);
});

test('at most `concurrency` calls are in flight per backend', async (t) => {
  const file = new TableBackend('file', {});
  await new SecretStore({ chain: [file], concurrency: 3 }).resolveAll(Array.from({ length: 20 }, (_, i) => ({ ref: value(`x/${i}`) })));
  t.is(file.calls, 20);
  t.is(file.maxActive, 3);
});

test('concurrent callers of one path share one backend call', async (t) => {
  const file = new TableBackend('file', { 'a/b': { status: 'found', data: 'v' } });
  const store = new SecretStore({ chain: [file] });
  const [one, two] = await Promise.all([store.resolve({ ref: value('a/b') }), store.resolve({ ref: value('a/b') })]);
  t.like(one, { status: 'found', data: 'v' });
  t.like(two, { status: 'found', data: 'v' });
  t.is(file.calls, 1);
});

test('an unavailable path is retried with exact backoff delays before it fails', async (t) => {
  const clock = new FakeClock();
  const vault = new TableBackend('vault', {});
  vault.down = true;
  const store = new SecretStore({ chain: [vault], retry: { min: 100, max: 1000, attempts: 2 }, clock, random: sequence(0.5) });
  let result: Awaited<ReturnType<SecretStore['resolve']>> | undefined;
  const pending = store.resolve({ ref: value('a/b') }).then((r) => (result = r));
  await flush();
  t.deepEqual(clock.pendingDelays, [100], 'first retry: max(min, 0.5 × 100)');
  await clock.advance(100);
  t.deepEqual(clock.pendingDelays, [100], 'second retry: 0.5 × 200');
  vault.down = false;
  vault.table = { 'a/b': { status: 'found', data: 'back' } };
  await clock.advance(100);
  await pending;
  t.like(result, { status: 'found', data: 'back' });
  t.is(vault.calls, 3);
});

test('without retries an unavailable-only chain fails with the backends tried', async (t) => {
  const vault = new TableBackend('vault', {});
  vault.down = true;
  const result = await new SecretStore({ chain: [vault, new TableBackend('env', {})] }).resolve({ ref: value('a/b') });
  t.is(result.status, 'failed');
  if (result.status === 'failed') t.true(isAgentError(result.error, 'ERR_BACKEND_UNAVAILABLE'));
});
