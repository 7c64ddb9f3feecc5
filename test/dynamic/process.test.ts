// SIGTERM with vault.revokeOnShutdown: true, through the built CLI as a real process (examples/vault-dynamic against
// the Vault emulator): the agent exits 0 and the database lease it held is revoked; certificates have no lease.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { eventually, startAgent } from '../helpers/agent-process.js';
import { scratch } from '../helpers/cli.js';
import { readEnvFile } from '../ship/example-files.js';

const example = 'examples/vault-dynamic';

test('SIGTERM revokes the leases of vault helper calls when vault.revokeOnShutdown is true, then exits 0', async (t) => {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.addDatabaseRole('api-server', { defaultTtl: 3600, maxTtl: 86_400 });
  vault.addPkiRole('api-server', { allowedDomains: ['dsta.internal'], allowSubdomains: true, maxTtl: 72 * 3600 });
  vault.setPolicy('secrets-agent-dynamic', await readFile(join(example, 'policy.hcl'), 'utf8'));
  const token = vault.createToken({ ttl: 3600, policies: ['default', 'secrets-agent-dynamic'], renewable: true });
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const agent = startAgent(['--config', `${example}/secrets-agent.yaml`, '--output', dir], { VAULT_ADDR: vault.address, VAULT_TOKEN: token, SECRETS_AGENT_LISTEN: '' });
  t.teardown(() => { agent.killGroup(); });
  const userOf = async (): Promise<string | undefined> => {
    try {
      return (await readEnvFile(join(dir, 'database.env')))['DATABASE_USER'];
    } catch {
      return undefined;
    }
  };
  t.true(await eventually(async () => (await userOf()) !== undefined, 60_000), agent.stderr());
  const user = (await userOf()) ?? '';
  t.true(vault.leases.isValid(user));
  agent.child.kill('SIGTERM');
  t.is(await agent.exited, 0, agent.stderr());
  t.false(vault.leases.isValid(user), 'the database user is revoked');
  t.is(vault.leases.counters.revoked, 1);
  t.regex(agent.stderr(), /revoked 1 lease\(s\) \(vault\.revokeOnShutdown\)/);
});
