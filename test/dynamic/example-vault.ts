// The Vault that examples/vault-dynamic expects, for the tests that run the example: the emulator in namespace
// dsta with the example's database and PKI roles, its policy, a token holding only that policy, and an empty
// output directory. Everything is closed when the test ends.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startVaultEmulator } from '../fakes/vault/index.js';
import type { VaultEmulator } from '../fakes/vault/index.js';
import { scratch } from '../helpers/cli.js';

export const example = 'examples/vault-dynamic';

export async function exampleVault(t: ExecutionContext): Promise<{ vault: VaultEmulator; token: string; dir: string }> {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.addDatabaseRole('api-server', { defaultTtl: 3600, maxTtl: 86_400 });
  vault.addPkiRole('api-server', { allowedDomains: ['dsta.internal'], allowSubdomains: true, maxTtl: 72 * 3600 });
  vault.setPolicy('secrets-agent-dynamic', await readFile(join(example, 'policy.hcl'), 'utf8'));
  const token = vault.createToken({ ttl: 3600, policies: ['default', 'secrets-agent-dynamic'], renewable: true });
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  return { vault, token, dir };
}
