// examples/vault-dynamic renders for real: `once` (the built CLI, node-vault) against the Vault emulator's database
// and PKI engines, with a token that holds only the example's policy; the credentials are live leases and the three
// TLS files come from one issue.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startVaultEmulator } from '../fakes/vault/index.js';
import { runCli } from '../helpers/cli.js';
import { readEnvFile } from '../ship/example-files.js';
import { example, exampleVault } from './example-vault.js';

test('the dynamic example renders with only its policy: a live database lease and a certificate set from one issue', async (t) => {
  const { vault, token, dir } = await exampleVault(t);
  const result = await runCli(['once', '--config', `${example}/secrets-agent.yaml`, '--output', dir], { env: { VAULT_ADDR: vault.address, VAULT_TOKEN: token } });
  t.is(result.code, 0, result.stderr);
  const env = await readEnvFile(join(dir, 'database.env'));
  t.true(vault.leases.isValid(env['DATABASE_USER'] ?? ''), 'the user is a live lease');
  const lease = vault.leases.of(env['DATABASE_USER'] ?? '');
  t.is((lease?.expiresAt ?? 0) - (lease?.issuedAt ?? 0), 3600 * 1000, 'the role\'s default_ttl');
  t.is(env['DATABASE_HOST'], 'postgres.dsta.internal');
  const cert = new X509Certificate(await readFile(join(dir, 'cert.pem')));
  t.true(cert.checkPrivateKey(createPrivateKey(await readFile(join(dir, 'key.pem'), 'utf8'))), 'key and certificate of one issue');
  t.true(cert.checkIssued(new X509Certificate(await readFile(join(dir, 'ca.pem')))), 'ca.pem issued it');
  t.regex(cert.subject, /CN=api\.dsta\.internal/);
  t.is(vault.pki().issued.length, 1, 'three templates, one issue');
  t.is(vault.counters.count({ route: 'database' }), 1);
  t.false(result.stderr.includes(env['DATABASE_PASSWORD'] ?? '<none>'), 'the password is in no log line');
});

test('check --diff makes the calls to show what would change, and revokes the lease it made: a dry run keeps nothing', async (t) => {
  const { vault, token, dir } = await exampleVault(t);
  const result = await runCli(['check', '--diff', '--config', `${example}/secrets-agent.yaml`, '--output', dir], { env: { VAULT_ADDR: vault.address, VAULT_TOKEN: token } });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /database\.env\.hbs -> .*database\.env: new file\n {2}\+ DATABASE_USER \(added\)/);
  t.deepEqual([vault.leases.counters.issued, vault.leases.counters.revoked], [1, 1]);
  t.is(vault.leases.all().filter((lease) => lease.revokedAt === undefined).length, 0);
});

test('audit leaves vault helper calls out: they have no version history, and auditing mints no credentials', async (t) => {
  const vault = await startVaultEmulator({ namespace: 'dsta' });
  t.teardown(() => vault.close());
  vault.addDatabaseRole('api-server', { defaultTtl: 3600, maxTtl: 86_400 });
  const result = await runCli(['audit', '--json', '--config', `${example}/secrets-agent.yaml`], { env: { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token } });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(JSON.parse(result.stdout), []);
  t.is(vault.counters.count({ route: 'database' }) + vault.counters.count({ route: 'pki' }), 0);
});

test('check lists each vault helper call (method, path, sorted parameters) with its line, offline', async (t) => {
  const result = await runCli(['check', '--config', `${example}/secrets-agent.yaml`]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^ {2}vault {4}GET database\/creds\/api-server \[backend=vault\] {2}\(line 6\)$/m);
  t.regex(result.stdout, /^ {2}vault {4}PUT pki\/issue\/api-server common_name="api\.dsta\.internal" ttl="72h" \[backend=vault\] {2}\(line 8\)$/m);
  t.regex(result.stdout, /4 templates, 4 dependencies \(2 unique secret paths\), 0 problems/);
});
