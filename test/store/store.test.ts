import test from 'ava';
import type { Backend, BackendName, Outcome, SecretRef } from '../../agent/backends/backend.js';
import { isAgentError } from '../../agent/errors.js';
import { SecretStore, describeOutage } from '../../agent/store/store.js';
import type { UnavailableEvent } from '../../agent/store/store.js';

/** A backend whose answers are a table, counting every fetch: a fake of the real interface. */
class TableBackend implements Backend {
  readonly calls: string[] = [];
  constructor(readonly name: BackendName, private readonly table: Record<string, Outcome>) {}
  fetch(ref: SecretRef): Promise<Outcome> {
    this.calls.push(ref.path);
    return Promise.resolve(this.table[ref.path] ?? { status: 'not_found' });
  }
  isAvailable(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

const value = (path: string): SecretRef => ({ kind: 'value', path });

test('each unique request is fetched once however often it is asked for', async (t) => {
  const file = new TableBackend('file', { 'a/b': { status: 'found', data: 'v' } });
  const store = new SecretStore({ chain: [file] });
  const results = await store.resolveAll([{ ref: value('a/b') }, { ref: value('a/b') }, { ref: value('a/c') }, { ref: value('a/b') }]);
  t.deepEqual(file.calls.sort(), ['a/b', 'a/c']);
  t.is(results.size, 2);
});

test('not found moves to the next backend', async (t) => {
  const file = new TableBackend('file', {});
  const env = new TableBackend('env', { 'a/b': { status: 'found', data: 'from-env' } });
  const result = await new SecretStore({ chain: [file, env] }).resolve({ ref: value('a/b') });
  t.like(result, { status: 'found', data: 'from-env', backend: 'env' });
});

test('unavailable moves to the next backend and is reported', async (t) => {
  const events: string[] = [];
  const file = new TableBackend('file', { 'a/b': { status: 'unavailable', reason: 'cannot read x' } });
  const env = new TableBackend('env', { 'a/b': { status: 'found', data: 'from-env' } });
  const store = new SecretStore({ chain: [file, env], events: { onUnavailable: (e) => events.push(`${e.backend}:${e.paths.join(',')}`) } });
  t.like(await store.resolve({ ref: value('a/b') }), { status: 'found', backend: 'env' });
  t.deepEqual(events, ['file:a/b']);
});

test('one outage of one backend is one event per round with every path it failed, however many paths', async (t) => {
  const events: UnavailableEvent[] = [];
  const table = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`app/k${i}`, { status: 'unavailable', reason: 'connect ECONNREFUSED\n  at line two' } as const]));
  const aws = new TableBackend('aws', table);
  const env = new TableBackend('env', {});
  const store = new SecretStore({ chain: [aws, env], events: { onUnavailable: (e) => events.push(e) } });
  await store.resolveAll(Array.from({ length: 10 }, (_, i) => ({ ref: value(`app/k${i}`) })));
  t.is(events.length, 1);
  t.like(events[0], { backend: 'aws', reason: 'connect ECONNREFUSED at line two' });
  t.is(events[0]?.paths.length, 10);
  t.is(describeOutage(events[0] ?? { backend: 'aws', paths: [], reason: '' }).message, 'aws backend unavailable for 10 paths ("app/k0", "app/k1", "app/k2" and 7 more): connect ECONNREFUSED at line two');
});

test('denied stops the chain: no lower backend is asked', async (t) => {
  const file = new TableBackend('file', { 'a/b': { status: 'denied', reason: 'policy' } });
  const env = new TableBackend('env', { 'a/b': { status: 'found', data: 'from-env' } });
  const result = await new SecretStore({ chain: [file, env] }).resolve({ ref: value('a/b') });
  t.is(result.status, 'failed');
  if (result.status === 'failed') t.true(isAgentError(result.error, 'ERR_SECRET_DENIED'));
  t.deepEqual(env.calls, []);
});

test('not found anywhere with one backend down is an unavailable error, not a plain miss', async (t) => {
  const file = new TableBackend('file', { 'a/b': { status: 'unavailable', reason: 'down' } });
  const env = new TableBackend('env', {});
  const result = await new SecretStore({ chain: [file, env] }).resolve({ ref: value('a/b') });
  t.is(result.status, 'failed');
  if (result.status === 'failed') {
    t.true(isAgentError(result.error, 'ERR_BACKEND_UNAVAILABLE'));
    t.regex(result.error.message, /tried file, env/);
  }
});

test('not found everywhere lists the backends tried', async (t) => {
  const result = await new SecretStore({ chain: [new TableBackend('file', {}), new TableBackend('env', {})] }).resolve({ ref: value('a/b') });
  t.deepEqual(result, { status: 'not_found', tried: ['file', 'env'] });
});

test('a pinned backend is the only one asked', async (t) => {
  const file = new TableBackend('file', {});
  const env = new TableBackend('env', { 'a/b': { status: 'found', data: 'e' } });
  const store = new SecretStore({ chain: [file, env] });
  t.like(await store.resolve({ ref: value('a/b'), backend: 'env' }), { status: 'found', backend: 'env' });
  t.deepEqual(file.calls, []);
  t.like(await store.resolve({ ref: value('a/b'), backend: 'file' }), { status: 'not_found', tried: ['file'] });
});

test('a pinned backend that is not configured is an error naming the configured ones', async (t) => {
  const result = await new SecretStore({ chain: [new TableBackend('env', {})] }).resolve({ ref: value('a/b'), backend: 'vault' });
  t.is(result.status, 'failed');
  if (result.status === 'failed') t.regex(result.error.message, /backend "vault" is not configured \(configured: env\)/);
});

test('a backend that throws fails only that request', async (t) => {
  const broken: Backend = { name: 'file', fetch: () => Promise.reject(new Error('boom')), isAvailable: () => Promise.resolve(false) };
  const results = await new SecretStore({ chain: [broken] }).resolveAll([{ ref: value('a/b') }]);
  const only = [...results.values()][0];
  t.is(only?.status, 'failed');
});
