// The emulator answers byte for byte as docs/vault.md describes, seen with plain fetch:
// envelopes in Vault's field order, the three 404 shapes, errors, sealing, lists, tokens on a fake clock.
import { connect } from 'node:net';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startVaultEmulator } from './index.js';
import type { VaultEmulator, VaultEmulatorOptions } from './index.js';

async function open(t: ExecutionContext, options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const server = await startVaultEmulator(options);
  t.teardown(() => server.close());
  return server;
}

/** One request; the raw status, content type and body text. */
async function call(server: VaultEmulator, method: string, path: string, init: { body?: string; headers?: Record<string, string>; token?: string | null } = {}): Promise<{ status: number; type: string | null; text: string }> {
  const headers: Record<string, string> = { 'X-Vault-Namespace': 'dsta', ...init.headers };
  if (init.token !== null) headers['X-Vault-Token'] = init.token ?? server.token;
  const response = await fetch(`${server.address}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

test('a KV v2 read is the full envelope in Vault field order, data keys sorted, ending in a newline', async (t) => {
  const server = await open(t, { clock: new FakeClock(Date.UTC(2026, 0, 2)) });
  server.setSecret('exchange/binance', { b: '2', a: '1' });
  const { status, type, text } = await call(server, 'GET', '/v1/secret/data/exchange/binance');
  t.is(status, 200);
  t.is(type, 'application/json');
  const body = text.replace(/"request_id":"[0-9a-f-]{36}"/, '"request_id":"ID"');
  t.is(body, '{"request_id":"ID","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"a":"1","b":"2"},"metadata":{"created_time":"2026-01-02T00:00:00.000Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}\n');
});

test('the three 404 shapes: empty errors, an envelope for a deleted version, an empty body for PATCH', async (t) => {
  const server = await open(t);
  t.deepEqual(await call(server, 'GET', '/v1/secret/data/nothing'), { status: 404, type: 'application/json', text: '{"errors":[]}\n' });
  server.setSecret('app', { k: 'v' });
  server.deleteVersions('app');
  const deleted = await call(server, 'GET', '/v1/secret/data/app');
  t.is(deleted.status, 404);
  t.like(JSON.parse(deleted.text), { data: { data: null, metadata: { version: 1, destroyed: false } }, mount_type: '' });
  const patched = await call(server, 'PATCH', '/v1/secret/data/missing', { body: '{"data":{"k":"v"}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  t.deepEqual(patched, { status: 404, type: 'application/json', text: '' });
});

test('403 bodies: a policy denial and an invalid token', async (t) => {
  const server = await open(t);
  const limited = server.createToken({ policies: ['default'] });
  t.is((await call(server, 'GET', '/v1/secret/data/app', { token: limited })).text, '{"errors":["permission denied"]}\n');
  const invalid = await call(server, 'GET', '/v1/secret/data/app', { token: 'hvs.unknown' });
  t.is(invalid.status, 403);
  t.regex(invalid.text, /permission denied.*invalid token/);
});

test('sealed: every logical request is 503 "Vault is sealed" and sys/health is a bare object', async (t) => {
  const server = await open(t);
  server.setSealed(true);
  t.deepEqual(await call(server, 'GET', '/v1/secret/data/app'), { status: 503, type: 'application/json', text: '{"errors":["Vault is sealed"]}\n' });
  const health = await call(server, 'GET', '/v1/sys/health', { token: null });
  t.is(health.status, 503);
  t.like(JSON.parse(health.text), { sealed: true, initialized: true });
});

test('lists: ?list=true works, an unparsable list value is 400, the LIST verb never reaches the routes', async (t) => {
  const server = await open(t);
  server.setSecret('exchange/binance', { k: 'v' });
  t.like(JSON.parse((await call(server, 'GET', '/v1/secret/metadata/exchange?list=TRUE')).text), { data: { keys: ['binance'] } });
  t.deepEqual(await call(server, 'GET', '/v1/secret/metadata/?list=maybe'), { status: 400, type: 'application/json', text: '{"errors":[]}\n' });
  // Node's HTTP parser knows no LIST method: it answers a bare 400 and closes, before any route. The request goes
  // out in one write on a raw socket, so the emulator has read all of it when it closes (no reset can race the 400).
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(new URL(server.address).port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
    socket.once('error', reject);
    socket.once('close', () => { resolve(text); });
    socket.write(`LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${server.token}\r\nX-Vault-Namespace: dsta\r\n\r\n`);
  });
  t.is(answer, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  t.is(server.counters.count({ path: 'secret/metadata/' }), 1, 'only the ?list=maybe request reached the emulator');
  t.is(server.counters.requests.length, 2);
});

test('a v1-style path on a KV v2 mount is a 404 carrying Vault\'s warning', async (t) => {
  const server = await open(t);
  const { status, text } = await call(server, 'GET', '/v1/secret/app');
  t.is(status, 404);
  t.deepEqual((JSON.parse(text) as { warnings: unknown }).warnings, ["Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."]);
});

test('renew-self takes node-vault\'s empty form body and caps the TTL at the max TTL with a warning', async (t) => {
  const clock = new FakeClock();
  const server = await open(t, { clock });
  const token = server.createToken({ ttl: 30, maxTtl: 40 });
  await clock.advance(20_000);
  const renewed = await call(server, 'POST', '/v1/auth/token/renew-self', { token, body: '', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  t.like(JSON.parse(renewed.text), { auth: { client_token: token, lease_duration: 20, renewable: true }, data: null, warnings: ['TTL of "30s" exceeded the effective max_ttl of "20s"; TTL value is capped accordingly'] });
  await clock.advance(20_000);
  t.is((await call(server, 'GET', '/v1/auth/token/lookup-self', { token })).status, 403);
});

test('namespaces partition the data; a rate-limit fault gives Vault\'s 429 body', async (t) => {
  const server = await open(t);
  server.setSecret('app', { k: 'v' }, { namespace: 'dsta' });
  t.is((await call(server, 'GET', '/v1/secret/data/app', { headers: { 'X-Vault-Namespace': 'other/' } })).status, 404);
  t.is((await call(server, 'GET', '/v1/secret/data/app')).status, 200);
  server.faults.add({ kind: 'rate-limit' }, { times: 1 });
  t.is((await call(server, 'GET', '/v1/secret/data/app')).text, '{"errors":["request path \\"secret/data/app\\": rate limit quota exceeded"]}\n');
});

test('bad JSON is 400 "error parsing JSON" and an unknown method is 405', async (t) => {
  const server = await open(t);
  t.is((await call(server, 'POST', '/v1/secret/data/app', { body: '{"data":' })).text, '{"errors":["error parsing JSON"]}\n');
  t.is((await call(server, 'OPTIONS', '/v1/secret/data/app')).status, 405);
});

test('enterprise: root-only paths are 404 "unsupported path" inside a namespace and answer at the root', async (t) => {
  const server = await open(t, { enterprise: true });
  const unsupported = { status: 404, type: 'application/json', text: '{"errors":["1 error occurred:\\n\\t* unsupported path\\n\\n"]}\n' };
  for (const path of ['/v1/sys/health', '/v1/sys/init', '/v1/sys/leader', '/v1/sys/seal-status', '/v1/sys/generate-root/attempt']) {
    t.deepEqual(await call(server, 'GET', path, { token: null }), unsupported, path);
  }
  t.deepEqual(await call(server, 'PUT', '/v1/sys/step-down'), unsupported);
  const root = await call(server, 'GET', '/v1/sys/health', { token: null, headers: { 'X-Vault-Namespace': '' } });
  t.is(root.status, 200);
  t.like(JSON.parse(root.text), { enterprise: true, sealed: false });
  t.is((await call(server, 'GET', '/v1/sys/health', { token: null, headers: { 'X-Vault-Namespace': '/' } })).status, 200);
  t.is((await fetch(`${server.address}/v1/sys/health`)).status, 200);
  t.is((await call(server, 'GET', '/v1/sys/internal/ui/mounts/secret')).status, 200, 'not root-only: answered in the namespace');
  t.is((await call(server, 'GET', '/v1/sys/sealed-thing')).status, 404, 'a prefix of a root-only path is not one');
});

test('without enterprise, sys/health answers in any namespace', async (t) => {
  const server = await open(t);
  const health = await call(server, 'GET', '/v1/sys/health', { token: null });
  t.is(health.status, 200);
  t.like(JSON.parse(health.text), { enterprise: false });
});

test('a proxy fault answers with the proxy\'s own body and headers, none of Vault\'s', async (t) => {
  const server = await open(t);
  server.faults.add({ kind: 'proxy' }, { path: 'secret/data/html', times: 1 });
  server.faults.add({ kind: 'proxy', body: 'json' }, { path: 'secret/data/json', times: 1 });
  server.faults.add({ kind: 'proxy', status: 502, body: 'empty' }, { path: 'secret/data/empty', times: 1 });
  const html = await fetch(`${server.address}/v1/secret/data/html`);
  t.is(html.status, 404);
  t.is(html.headers.get('content-type'), 'text/html');
  t.is(html.headers.get('cache-control'), null);
  t.regex(await html.text(), /^<html>\r\n<head><title>404 Not Found<\/title><\/head>[\s\S]*nginx/);
  const json = await fetch(`${server.address}/v1/secret/data/json`);
  t.deepEqual([json.status, await json.json()], [404, { message: 'no Route matched with those values' }]);
  const empty = await fetch(`${server.address}/v1/secret/data/empty`);
  t.deepEqual([empty.status, await empty.text()], [502, '']);
  t.is(server.counters.count({ route: 'kv' }), 3);
});
