// The seed's Vault-backend test made honest: the library's SecretManager with the real node-vault client
// against the Vault emulator — reads, availability, the seed's error text, and rotation with check-and-set.
import { Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { checkSecretBackend, isAgentError, SecretManager, SecretRotationManager } from '../../agent/index.js';
import { startVaultEmulator } from '../fakes/vault/index.js';

async function vaultManager(t: import('ava').ExecutionContext): Promise<{ manager: SecretManager; vault: Awaited<ReturnType<typeof startVaultEmulator>>; logs: () => string }> {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  vault.setSecret('exchange/binance', { api_key: 'vk', api_secret: 'vs', testnet: 'false' });
  const chunks: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { chunks.push(chunk.toString('utf8')); done(); } }));
  const manager = new SecretManager({ backend: 'vault', env: { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token }, log });
  t.teardown(async () => {
    await manager.close();
    await vault.close();
  });
  return { manager, vault, logs: () => chunks.join('') };
}

test('Vault backend: values and whole secrets come from KV v2 in the dsta namespace', async (t) => {
  const { manager } = await vaultManager(t);
  t.is(manager.backendName, 'vault');
  t.true(await manager.backend.isAvailable());
  t.is(await manager.getSecret('exchange/binance/api_key'), 'vk');
  t.deepEqual(await manager.getSecrets('exchange/binance'), { api_key: 'vk', api_secret: 'vs', testnet: 'false' });
  t.deepEqual(await checkSecretBackend(manager), { status: 'healthy', backend: 'vault' });
});

test('a sealed Vault is reported with the seed message "Vault not available"', async (t) => {
  const { manager, vault } = await vaultManager(t);
  vault.setSealed(true);
  t.false(await manager.backend.isAvailable());
  const error = await t.throwsAsync(manager.getSecret('exchange/binance/api_key'));
  t.true(isAgentError(error, 'ERR_BACKEND_UNAVAILABLE'));
  t.regex(error.message, /^Vault not available: /);
  t.like(await checkSecretBackend(manager), { status: 'unhealthy', backend: 'vault' });
});

test('rotateSecret writes a new version with check-and-set, keeps the other keys, and records an audit event without the value', async (t) => {
  const { manager, logs } = await vaultManager(t);
  const result = await new SecretRotationManager(manager).rotateSecret('exchange/binance/api_key', 'rotated-key-0123');
  t.deepEqual(result, { path: 'exchange/binance/api_key', backend: 'vault', version: '2' });
  t.deepEqual(await manager.getSecrets('exchange/binance'), { api_key: 'rotated-key-0123', api_secret: 'vs', testnet: 'false' });
  t.regex(logs(), /"component":"audit".*"event":"rotate".*"version":"2"/);
  t.false(logs().includes('rotated-key-0123'));
});
