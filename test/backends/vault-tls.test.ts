// TLS through node-vault's agent options: VAULT_SKIP_VERIFY=false must keep verification on (node-vault's
// own parsing would turn it off), VAULT_CACERT trusts a private CA, a client certificate is presented,
// and turning verification off is loud. The emulator serves HTTPS with test/fakes/vault/tls/.
import test from 'ava';
import { VaultBackend } from '../../agent/backends/vault.js';
import { loadConfig } from '../../agent/config/load.js';
import type { ExecutionContext } from 'ava';
import { tlsFiles } from '../fakes/vault/index.js';
import type { VaultEmulator } from '../fakes/vault/index.js';
import { captureLog, emulatorFor } from './vault/helpers.js';
import { realVault } from './vault/target.js';
import { withoutMeta } from './outcome.js';

const maybe = realVault ? test.skip : test;
const ref = { kind: 'value', path: 'app/secret_key' } as const;

/** A backend configured the way the agent is: from environment variables, through loadConfig. */
async function backendFromEnv(server: VaultEmulator, env: Record<string, string>): Promise<{ backend: VaultBackend; logText: () => string }> {
  const vars = { VAULT_ADDR: server.address, VAULT_TOKEN: server.token, SECRETS_AGENT_VAULT_MOUNT: 'secret', ...env };
  const config = await loadConfig({ env: vars, cwd: process.cwd() });
  const { log, text } = captureLog();
  // node-vault reads VAULT_SKIP_VERIFY from process.env while it is built, so the variable is set for that moment.
  const saved = process.env['VAULT_SKIP_VERIFY'];
  process.env['VAULT_SKIP_VERIFY'] = env['VAULT_SKIP_VERIFY'] ?? '';
  const backend = new VaultBackend({ config: { ...config.vault, kvVersion: 2 }, log, watchTokenFile: false });
  if (saved === undefined) Reflect.deleteProperty(process.env, 'VAULT_SKIP_VERIFY');
  else process.env['VAULT_SKIP_VERIFY'] = saved;
  return { backend, logText: text };
}

async function withTlsEmulator(t: ExecutionContext, requestCert: boolean, run: (server: VaultEmulator) => Promise<void>): Promise<void> {
  const server = await emulatorFor(t, { tls: { requestCert } });
  server.setSecret('app', { secret_key: 'over-tls' });
  await run(server);
}

maybe('VAULT_SKIP_VERIFY=false keeps certificate verification on', async (t) => {
  await withTlsEmulator(t, false, async (server) => {
    const { backend, logText } = await backendFromEnv(server, { VAULT_SKIP_VERIFY: 'false' });
    const outcome = await backend.fetch(ref);
    t.is(outcome.status, 'unavailable');
    t.regex(outcome.status === 'unavailable' ? outcome.reason : '', /TLS handshake failed \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
    t.false(logText().includes('verification is OFF'));
    await backend.close();
  });
});

maybe('VAULT_CACERT makes a private CA trusted, with verification on', async (t) => {
  await withTlsEmulator(t, false, async (server) => {
    const { backend } = await backendFromEnv(server, { VAULT_SKIP_VERIFY: '0', VAULT_CACERT: tlsFiles.ca });
    t.deepEqual(withoutMeta(await backend.fetch(ref)), { status: 'found', data: 'over-tls', version: '1' });
    for (let read = 0; read < 10; read += 1) t.is((await backend.fetch(ref)).status, 'found');
    t.is(server.counters.connections, 1, 'one TLS connection kept alive for every read, not a handshake per request');
    await backend.close();
  });
});

maybe('VAULT_SKIP_VERIFY=true connects to an unknown CA and logs a warning', async (t) => {
  await withTlsEmulator(t, false, async (server) => {
    const { backend, logText } = await backendFromEnv(server, { VAULT_SKIP_VERIFY: 'true' });
    t.like(await backend.fetch(ref), { status: 'found', data: 'over-tls' });
    t.regex(logText(), /"level":"warn".*TLS certificate verification is OFF for Vault/);
    await backend.close();
  });
});

maybe('a client certificate is presented when Vault requires one', async (t) => {
  await withTlsEmulator(t, true, async (server) => {
    const without = await backendFromEnv(server, { VAULT_CACERT: tlsFiles.ca });
    t.is((await without.backend.fetch(ref)).status, 'unavailable');
    await without.backend.close();
    const withCert = await backendFromEnv(server, { VAULT_CACERT: tlsFiles.ca, VAULT_CLIENT_CERT: tlsFiles.clientCert, VAULT_CLIENT_KEY: tlsFiles.clientKey });
    t.like(await withCert.backend.fetch(ref), { status: 'found', data: 'over-tls' });
    await withCert.backend.close();
  });
});

maybe('an unreadable CA file is a configuration error naming the key and path', (t) => {
  const { log } = captureLog();
  const error = t.throws(() => new VaultBackend({ config: { address: 'https://127.0.0.1:1', namespace: '', mount: 'secret', kvVersion: 2, caCert: '/nonexistent/ca.pem', tlsSkipVerify: false, timeout: 1000, revokeOnShutdown: false, auth: { method: 'token', token: 't', jwtFile: '/x', mountPath: 'token' } }, log }));
  t.like(error, { code: 'ERR_CONFIG_INVALID', message: 'vault.caCert: cannot read /nonexistent/ca.pem: ENOENT' });
});
