// SIGTERM with vault.revokeOnShutdown: true, through the built CLI as a real process (examples/vault-dynamic against
// the Vault emulator): the agent exits 0 and the database lease it held is revoked; certificates have no lease.
import { join } from 'node:path';
import test from 'ava';
import { eventually, startAgent } from '../helpers/agent-process.js';
import { readEnvFile } from '../ship/example-files.js';
import { example, exampleVault } from './example-vault.js';

test('SIGTERM revokes the leases of vault helper calls when vault.revokeOnShutdown is true, then exits 0', async (t) => {
  const { vault, token, dir } = await exampleVault(t);
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
