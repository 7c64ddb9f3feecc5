// The Vault backend through the real node-vault client, against the emulator — or against a real Vault
// when VAULT_TEST_ADDR and VAULT_TEST_TOKEN are set (docs/vault.md). Nothing here needs fault switches.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { backendFor, documentedPolicy } from './vault/helpers.js';
import { openTarget } from './vault/target.js';
import type { Target } from './vault/target.js';
import { withoutMeta } from './outcome.js';

async function withTarget(t: ExecutionContext, run: (target: Target) => Promise<void>): Promise<void> {
  await run(await openTarget(t));
}

test('a KV v2 value is read from data.data with the version from data.metadata', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/exchange/binance`;
    await target.put(p, { api_key: 'k-1', api_secret: 's-1' });
    const { backend } = backendFor(target);
    t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: `${p}/api_key` })), { status: 'found', data: 'k-1', version: '1' });
    await backend.close();
  });
});

test('a KV v2 read names the secret it read and the creation time of the version it returned (no metadata request)', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/exchange/kraken`;
    await target.put(p, { api_key: 'k-1' });
    const { backend } = backendFor(target);
    const outcome = await backend.fetch({ kind: 'value', path: `${p}/api_key` });
    // For version 1 the secret's updated_time is that version's created_time.
    const metadata = await backend.readMetadata(p);
    t.truthy(metadata);
    t.deepEqual(outcome.status === 'found' ? outcome.meta : undefined, { secret: p, createdAt: new Date(metadata?.updatedTime ?? '').toISOString() });
    await backend.close();
  });
});

test('every key of a secret comes back as a string: JSON values as JSON text, null as missing', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/database/postgres`;
    await target.put(p, { password: 'pw', port: 5432, tls: true, nested: { a: 1 }, gone: null });
    const { backend } = backendFor(target);
    t.deepEqual(withoutMeta(await backend.fetch({ kind: 'map', path: p })), { status: 'found', data: { password: 'pw', port: '5432', tls: 'true', nested: '{"a":1}' }, version: '1' });
    t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: `${p}/port` })), { status: 'found', data: '5432', version: '1' });
    t.is((await backend.fetch({ kind: 'value', path: `${p}/gone` })).status, 'not_found');
    await backend.close();
  });
});

test('a missing key, a missing secret and a one-segment path are not found', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/app`;
    await target.put(p, { secret_key: 'x' });
    const { backend } = backendFor(target);
    const missingKey = await backend.fetch({ kind: 'value', path: `${p}/nope` });
    t.deepEqual(missingKey, { status: 'not_found', reason: `secret "${p}" has no key "nope"` });
    t.deepEqual(await backend.fetch({ kind: 'value', path: `${target.prefix}/kraken/api_key` }), { status: 'not_found' });
    t.deepEqual(await backend.fetch({ kind: 'map', path: `${target.prefix}/kraken` }), { status: 'not_found' });
    t.is((await backend.fetch({ kind: 'value', path: 'api_key' })).status, 'not_found');
    await backend.close();
  });
});

test('a new version is read as soon as it is written, with its version number', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/exchange/kraken`;
    await target.put(p, { api_key: 'old' });
    await target.put(p, { api_key: 'new' });
    const { backend } = backendFor(target);
    t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: `${p}/api_key` })), { status: 'found', data: 'new', version: '2' });
    await backend.close();
  });
});

test('a soft-deleted latest version is not found, never an empty secret', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/monitoring`;
    await target.put(p, { sentry_dsn: 'https://dsn' });
    await target.softDelete(p);
    const { backend } = backendFor(target);
    const outcome = await backend.fetch({ kind: 'map', path: p });
    t.is(outcome.status, 'not_found');
    t.regex(outcome.status === 'not_found' ? outcome.reason ?? '' : '', /^version 1 was deleted at /);
    t.is(await backend.readSecret(p), undefined);
    await backend.close();
  });
});

test('a destroyed version is not found', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/notifications`;
    await target.put(p, { slack_webhook_url: 'https://hook' });
    await target.destroy(p, [1]);
    const { backend } = backendFor(target);
    t.deepEqual(await backend.fetch({ kind: 'value', path: `${p}/slack_webhook_url` }), { status: 'not_found', reason: 'version 1 is destroyed' });
    await backend.close();
  });
});

test('a KV v1 mount is detected and read without a version', async (t) => {
  await withTarget(t, async (target) => {
    await target.ensureKv1('kv1');
    const p = `${target.prefix}/exchange/binance`;
    await target.put(p, { api_key: 'v1-key', ttl: '1h' }, 'kv1');
    const { backend } = backendFor(target, { mount: 'kv1' });
    t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: `${p}/api_key` })), { status: 'found', data: 'v1-key' });
    t.deepEqual(await backend.readSecret(p), { data: { api_key: 'v1-key', ttl: '1h' }, version: '', stored: { api_key: 'v1-key', ttl: '1h' } });
    t.is(await backend.readMetadata(p), undefined);
    await backend.close();
  });
});

test('readSecret and readMetadata give rotate and audit the version and times', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/exchange/binance`;
    await target.put(p, { api_key: 'a', api_secret: 'b' });
    await target.put(p, { api_key: 'c', api_secret: 'd' });
    const { backend } = backendFor(target);
    t.deepEqual(await backend.readSecret(p), { data: { api_key: 'c', api_secret: 'd' }, version: '2', stored: { api_key: 'c', api_secret: 'd' } });
    const metadata = await backend.readMetadata(p);
    t.is(metadata?.version, '2');
    t.regex(metadata?.createdTime ?? '', /^\d{4}-\d\d-\d\dT/);
    t.true((metadata?.updatedTime ?? '') >= (metadata?.createdTime ?? 'z'));
    t.is(await backend.readMetadata(`${target.prefix}/nothing`), undefined);
    await backend.close();
  });
});

test('a check-and-set write creates the next version; a stale one is a conflict that overwrites nothing', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/exchange/binance`;
    await target.put(p, { api_key: 'v1' });
    const { backend } = backendFor(target);
    t.deepEqual(await backend.write(p, { api_key: 'v2' }, { cas: 1 }), { version: '2' });
    const error = await t.throwsAsync(backend.write(p, { api_key: 'lost' }, { cas: 1 }));
    t.true(isAgentError(error, 'ERR_CAS_CONFLICT'));
    t.true(error.message.includes(`"${p}"`));
    t.false(error.message.includes('lost'));
    t.deepEqual(await backend.readSecret(p), { data: { api_key: 'v2' }, version: '2', stored: { api_key: 'v2' } });
    await backend.close();
  });
});

test('cas 0 writes only a secret that does not exist yet', async (t) => {
  await withTarget(t, async (target) => {
    const p = `${target.prefix}/app`;
    const { backend } = backendFor(target);
    t.deepEqual(await backend.write(p, { secret_key: 'first' }, { cas: 0 }), { version: '1' });
    await t.throwsAsync(backend.write(p, { secret_key: 'second' }, { cas: 0 }), { code: 'ERR_CAS_CONFLICT' });
    t.deepEqual(await backend.write(p, { secret_key: 'third' }, { cas: undefined }), { version: '2' });
    await backend.close();
  });
});

test('keys under a prefix are listed, sub-trees ending in a slash', async (t) => {
  await withTarget(t, async (target) => {
    await target.put(`${target.prefix}/exchange/binance`, { api_key: 'a' });
    await target.put(`${target.prefix}/exchange/kraken/spot`, { api_key: 'b' });
    const { backend } = backendFor(target);
    t.deepEqual(await backend.list(`${target.prefix}/exchange`), ['binance', 'kraken/']);
    t.deepEqual(await backend.list(`${target.prefix}/nothing`), []);
    await backend.close();
  });
});

test('the documented read-only policy reads every seed path and can write nothing', async (t) => {
  await withTarget(t, async (target) => {
    await target.writePolicy('secrets-agent-read', documentedPolicy('secrets-agent-read'));
    const token = await target.createToken(['secrets-agent-read']);
    for (const path of ['exchange/binance', 'database/postgres', 'app', 'monitoring', 'notifications']) await target.put(`${target.prefix}/${path}`, { k: path });
    const { backend } = backendFor(target, { auth: { method: 'token', token } });
    for (const path of ['exchange/binance', 'database/postgres', 'app', 'monitoring', 'notifications']) {
      t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: `${target.prefix}/${path}/k` })), { status: 'found', data: path, version: '1' });
    }
    t.is((await backend.readMetadata(`${target.prefix}/app`))?.version, '1');
    await t.throwsAsync(backend.write(`${target.prefix}/app`, { k: 'x' }, { cas: 1 }), { code: 'ERR_SECRET_DENIED' });
    await backend.close();
  });
});

test('the documented rotation policy writes with check-and-set and reads metadata', async (t) => {
  await withTarget(t, async (target) => {
    await target.writePolicy('secrets-agent-rotate', documentedPolicy('secrets-agent-rotate'));
    const token = await target.createToken(['secrets-agent-rotate']);
    const p = `${target.prefix}/exchange/binance`;
    await target.put(p, { api_key: 'old' });
    const { backend } = backendFor(target, { auth: { method: 'token', token } });
    const current = await backend.readSecret(p);
    t.deepEqual(await backend.write(p, { ...current?.data, api_key: 'rotated' }, { cas: Number(current?.version) }), { version: '2' });
    t.is((await backend.readMetadata(p))?.version, '2');
    await backend.close();
  });
});

test('a path the policy does not grant is denied, not "not found"', async (t) => {
  await withTarget(t, async (target) => {
    await target.writePolicy('exchange-only', `path "secret/data/${target.prefix}/exchange/*" {\n  capabilities = ["read"]\n}\n`);
    const token = await target.createToken(['exchange-only']);
    await target.put(`${target.prefix}/database/postgres`, { password: 'pw' });
    const { backend } = backendFor(target, { auth: { method: 'token', token }, kvVersion: 2 });
    const outcome = await backend.fetch({ kind: 'value', path: `${target.prefix}/database/postgres/password` });
    t.is(outcome.status, 'denied');
    t.true(outcome.status === 'denied' && outcome.reason.includes(`GET secret/data/${target.prefix}/database/postgres`));
    t.true(outcome.status === 'denied' && outcome.reason.includes(target.address));
    await backend.close();
  });
});

test('an unsealed Vault is available', async (t) => {
  await withTarget(t, async (target) => {
    const { backend } = backendFor(target);
    t.true(await backend.isAvailable());
    await backend.close();
  });
});
