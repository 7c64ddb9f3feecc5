// Writing one key keeps the others as they are stored (agent/backends/vault.ts): `rotate`, auto-rotation and
// `migrate --overwrite` wrote the other keys back as strings, so `false` became "false" (truthy to most clients),
// `5` became "5", an object became its JSON text and a null key disappeared. On the emulator, or a real Vault with
// VAULT_TEST_ADDR/VAULT_TEST_TOKEN (test/backends/vault/target.ts).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { backendFor } from './vault/helpers.js';
import { openTarget } from './vault/target.js';

const STORED = { api_key: 'old-key', limits: { rps: 5 }, testnet: false, retries: 3, note: null };

async function world(t: ExecutionContext) {
  const target = await openTarget(t);
  const secret = `${target.prefix}/exchange/binance`;
  await target.put(secret, STORED);
  const { backend } = backendFor(target);
  t.teardown(() => backend.close());
  /** The secret's data as Vault holds it, JSON types and all. */
  const stored = async (): Promise<unknown> => {
    const headers: Record<string, string> = { 'X-Vault-Token': target.rootToken, ...(target.namespace === '' ? {} : { 'X-Vault-Namespace': target.namespace }) };
    const response = await fetch(`${target.address}/v1/secret/data/${secret}`, { headers });
    return ((await response.json()) as { data: { data: unknown } }).data.data;
  };
  return { backend, secret, stored };
}

test('rotate (writeKey) replaces one key and keeps the others with their JSON types, null included', async (t) => {
  const { backend, secret, stored } = await world(t);
  await backend.writeKey(`${secret}/api_key`, 'new-key');
  t.deepEqual(await stored(), { ...STORED, api_key: 'new-key' });
});

test('auto-rotation (replaceKey) and migrate --overwrite (mergeSecret) keep the other keys\' types too', async (t) => {
  const { backend, secret, stored } = await world(t);
  await backend.replaceKey(`${secret}/api_key`, 'rotated-key', '1');
  t.deepEqual(await stored(), { ...STORED, api_key: 'rotated-key' });
  const read = await backend.readSecret(secret);
  if (read === undefined) return t.fail('the secret was read back');
  await backend.mergeSecret(secret, { api_secret: 'added' }, read);
  t.deepEqual(await stored(), { ...STORED, api_key: 'rotated-key', api_secret: 'added' });
});
