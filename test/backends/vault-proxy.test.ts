// HTTP(S)_PROXY from the environment must not capture a loopback Vault: node-vault 0.12 speaks through
// axios, which honours the proxy variables and cannot be told `proxy: false` through node-vault. A real
// proxy runs here; a bare node-vault client is the control that shows the proxy would be used.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { NodeVaultClient } from '../../agent/backends/vault/client.js';
import { defaultNodeVault } from '../../agent/backends/vault/client.js';
import { bypassProxyForLoopback, loopbackHost } from '../../agent/backends/vault/proxy.js';
import { tlsFiles } from '../fakes/vault/index.js';
import { backendFor, emulatorFor } from './vault/helpers.js';
import { realVault } from './vault/target.js';
import type { Target } from './vault/target.js';

const maybe = realVault ? test.skip : test.serial;
const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'];

/** A forward proxy that records what reaches it and answers every request (and CONNECT) with 502. */
async function startProxy(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(`${request.method ?? ''} ${request.url ?? ''}`);
    response.writeHead(502).end('proxy says no');
  });
  server.on('connect', (request, socket) => {
    seen.push(`CONNECT ${request.url ?? ''}`);
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => { server.closeAllConnections(); return new Promise((resolve) => server.close(() => { resolve(); })); } };
}

/** Run with only the given proxy variables set, restoring the environment afterwards. */
async function withProxyEnv(vars: Record<string, string>, run: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(PROXY_VARS.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARS) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, vars);
  try {
    await run();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  }
}

maybe('HTTP_PROXY does not capture a loopback http Vault (and would without the bypass)', async (t) => {
  const proxy = await startProxy();
  t.teardown(() => proxy.close());
  const server = await emulatorFor(t);
  server.setSecret('app', { secret_key: 's' });
  await withProxyEnv({ HTTP_PROXY: proxy.url }, async () => {
    const bare = defaultNodeVault({ endpoint: server.address, token: server.token }) as NodeVaultClient;
    await t.throwsAsync(bare.read('secret/data/app'));
    t.true(proxy.seen.some((line) => line.startsWith(`GET ${server.address}/v1/secret/data/app`)), 'control: the proxy is used without the bypass');
    const before = proxy.seen.length;
    const { backend } = backendFor({ address: server.address, rootToken: server.token, namespace: 'dsta' } as Target, { kvVersion: 2 });
    t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 's' });
    t.is(proxy.seen.length, before);
    t.is(process.env['NO_PROXY'], '127.0.0.1');
    await backend.close();
  });
});

maybe('HTTPS_PROXY does not capture a loopback https Vault (and would without the bypass)', async (t) => {
  const proxy = await startProxy();
  t.teardown(() => proxy.close());
  const server = await emulatorFor(t, { tls: {} });
  server.setSecret('app', { secret_key: 's' });
  await withProxyEnv({ https_proxy: proxy.url, no_proxy: 'corp.example' }, async () => {
    const bare = defaultNodeVault({ endpoint: server.address, token: server.token, requestOptions: { ca: readFileSync(tlsFiles.ca) } }) as NodeVaultClient;
    await t.throwsAsync(bare.read('secret/data/app'));
    t.true(proxy.seen.some((line) => line.startsWith('CONNECT 127.0.0.1:')), 'control: the proxy is used without the bypass');
    const before = proxy.seen.length;
    const { backend } = backendFor({ address: server.address, rootToken: server.token, namespace: 'dsta' } as Target, { kvVersion: 2, caCert: tlsFiles.ca });
    t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 's' });
    t.is(proxy.seen.length, before);
    t.is(process.env['no_proxy'], 'corp.example,127.0.0.1');
    await backend.close();
  });
});

maybe('a non-loopback Vault address still goes through the proxy', async (t) => {
  const proxy = await startProxy();
  t.teardown(() => proxy.close());
  await withProxyEnv({ HTTP_PROXY: proxy.url }, async () => {
    const { backend } = backendFor({ address: 'http://vault.example.test:8200', rootToken: 'hvs.x', namespace: 'dsta' } as Target, { kvVersion: 2 });
    t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'unavailable' });
    t.deepEqual(proxy.seen, ['GET http://vault.example.test:8200/v1/auth/token/lookup-self']);
    t.is(process.env['NO_PROXY'], undefined);
    await backend.close();
  });
});

test('the bypass adds only loopback hosts, only when a proxy is set, to the variable axios reads', (t) => {
  const env = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ ...vars });
  const a = env({ HTTP_PROXY: 'http://p:3128' });
  t.is(bypassProxyForLoopback('http://localhost:8200', a), 'NO_PROXY');
  t.is(a['NO_PROXY'], 'localhost');
  const b = env({ all_proxy: 'http://p:3128', no_proxy: 'corp.example, .internal' });
  t.is(bypassProxyForLoopback('https://[::1]:8200', b), 'no_proxy');
  t.is(b['no_proxy'], 'corp.example,.internal,[::1]');
  const c = env({ HTTPS_PROXY: 'http://p:3128', NO_PROXY: '127.0.0.2' });
  t.is(bypassProxyForLoopback('https://127.0.0.2:8200', c), undefined);
  t.is(bypassProxyForLoopback('https://vault.dsta.svc:8200', c), undefined);
  t.is(bypassProxyForLoopback('http://127.0.0.1:8200', env({})), undefined);
  t.is(bypassProxyForLoopback('http://127.0.0.1:8200', env({ HTTP_PROXY: 'x', NO_PROXY: '*' })), undefined);
  t.deepEqual(['http://LOCALHOST:1', 'http://127.9.9.9', 'http://10.0.0.1', 'http://[::2]', 'nonsense'].map(loopbackHost), ['localhost', '127.9.9.9', undefined, undefined, undefined]);
});
