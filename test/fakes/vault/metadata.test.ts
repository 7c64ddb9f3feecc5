// KV v2 metadata as Vault serves it (docs/vault.md): PATCH metadata/<path> merges custom_metadata (null removes a
// key) without writing a version, GET metadata shows custom_metadata, versions with created_time and cas_required,
// the data read carries custom_metadata, and cas_required refuses a write without cas.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startVaultEmulator } from './index.js';
import type { VaultEmulator } from './index.js';

async function open(t: ExecutionContext, clock = new FakeClock(Date.UTC(2026, 0, 2))): Promise<VaultEmulator> {
  const server = await startVaultEmulator({ clock });
  t.teardown(() => server.close());
  return server;
}

async function call(server: VaultEmulator, method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; text: string; json: Record<string, unknown> | undefined }> {
  const response = await fetch(`${server.address}${path}`, { method, headers: { 'X-Vault-Namespace': 'dsta', 'X-Vault-Token': server.token, 'Content-Type': type }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, text, json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

const MERGE = 'application/merge-patch+json';

test('PATCH metadata merges custom_metadata: new keys set, null removes, others kept; no version is written', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 2));
  const server = await open(t, clock);
  server.setSecret('app', { secret_key: 'v1' });
  t.is((await call(server, 'POST', '/v1/secret/metadata/app', { custom_metadata: { owner: 'ops', 'rotation-auto': 'true' } })).status, 204);
  await clock.advance(60_000);
  const patched = await call(server, 'PATCH', '/v1/secret/metadata/app', { custom_metadata: { 'rotation-period': '90d', 'rotation-auto': null } }, MERGE);
  t.deepEqual({ status: patched.status, text: patched.text }, { status: 204, text: '' });
  const meta = (await call(server, 'GET', '/v1/secret/metadata/app')).json?.['data'] as Record<string, unknown>;
  t.deepEqual(meta['custom_metadata'], { owner: 'ops', 'rotation-period': '90d' });
  t.is(meta['current_version'], 1);
  t.is(meta['updated_time'], '2026-01-02T00:01:00.000Z');
  t.deepEqual(meta['versions'], { 1: { created_time: '2026-01-02T00:00:00.000Z', deletion_time: '', destroyed: false } });
  const read = (await call(server, 'GET', '/v1/secret/data/app')).json?.['data'] as { metadata: Record<string, unknown> };
  t.deepEqual(read.metadata['custom_metadata'], { owner: 'ops', 'rotation-period': '90d' });
  t.is(read.metadata['version'], 1);
});

test('PATCH metadata: wrong content type 415, missing key 404 with no body, a non-string value 400', async (t) => {
  const server = await open(t);
  const wrong = await call(server, 'PATCH', '/v1/secret/metadata/app', { custom_metadata: { a: 'b' } });
  t.is(wrong.status, 415);
  t.deepEqual(wrong.json, { errors: ['PATCH requires Content-Type of application/merge-patch+json, provided application/json'] });
  t.deepEqual(await call(server, 'PATCH', '/v1/secret/metadata/app', { custom_metadata: { a: 'b' } }, MERGE), { status: 404, text: '', json: undefined });
  server.setSecret('app', { k: 'v' });
  t.is((await call(server, 'PATCH', '/v1/secret/metadata/app', { custom_metadata: { a: 7 } }, MERGE)).status, 400);
  t.is((await call(server, 'PATCH', '/v1/secret/metadata/app', { custom_metadata: { a: 'x'.repeat(513) } }, MERGE)).status, 400);
});

test('POST metadata replaces custom_metadata and creates the metadata of a key that has no version yet', async (t) => {
  const server = await open(t);
  server.setSecret('app', { k: 'v' });
  await call(server, 'POST', '/v1/secret/metadata/app', { custom_metadata: { a: '1', b: '2' } });
  await call(server, 'POST', '/v1/secret/metadata/app', { custom_metadata: { c: '3' } });
  t.deepEqual(((await call(server, 'GET', '/v1/secret/metadata/app')).json?.['data'] as Record<string, unknown>)['custom_metadata'], { c: '3' });
  t.is((await call(server, 'POST', '/v1/secret/metadata/fresh', { cas_required: true })).status, 204);
  const fresh = (await call(server, 'GET', '/v1/secret/metadata/fresh')).json?.['data'] as Record<string, unknown>;
  t.like(fresh, { cas_required: true, current_version: 0, versions: {} });
  t.is((await call(server, 'GET', '/v1/secret/data/fresh')).status, 404);
});

test('cas_required on the key: a write without cas is refused, with the current version it lands', async (t) => {
  const server = await open(t);
  server.setSecret('app', { k: 'v1' });
  await call(server, 'PATCH', '/v1/secret/metadata/app', { cas_required: true }, MERGE);
  const without = await call(server, 'POST', '/v1/secret/data/app', { data: { k: 'v2' } });
  t.deepEqual({ status: without.status, json: without.json }, { status: 400, json: { errors: ['check-and-set parameter required for this call'] } });
  const stale = await call(server, 'POST', '/v1/secret/data/app', { options: { cas: 0 }, data: { k: 'v2' } });
  t.deepEqual(stale.json, { errors: ['check-and-set parameter did not match the current version'] });
  const written = await call(server, 'POST', '/v1/secret/data/app', { options: { cas: 1 }, data: { k: 'v2' } });
  t.is(written.status, 200);
  t.is((written.json?.['data'] as Record<string, unknown>)['version'], 2);
  t.is(((await call(server, 'GET', '/v1/secret/metadata/app')).json?.['data'] as Record<string, unknown>)['cas_required'], true);
});
