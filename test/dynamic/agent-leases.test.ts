// Dynamic secrets end to end in-process (docs/vault.md "Dynamic secrets"): the agent with its real node-vault client
// against the Vault emulator's database and PKI engines, both on one FakeClock, so lease arithmetic is exact and a
// 30-second run takes a few seconds. After every 100 ms step the file on disk is checked against the emulator's lease
// table: the credentials in the file are valid at every moment.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Agent } from '../../agent/agent.js';
import { scratch } from '../helpers/cli.js';
import { FakeClock, sequence } from '../helpers/fake-clock.js';
import { startVaultEmulator } from '../fakes/vault/index.js';
import type { VaultEmulator } from '../fakes/vault/index.js';

const DATABASE_ENV = ['---', 'notify: [app]', '---', '{{#with (vault "database/creds/api")}}', 'DB_USER={{username}}', 'DB_PASSWORD={{password}}', '{{/with}}', ''].join('\n');

interface Harness {
  agent: Agent;
  vault: VaultEmulator;
  clock: FakeClock;
  dir: string;
  logs: () => string;
  /** Move the shared clock and wait until the agent has done everything that made due. */
  step: (ms: number) => Promise<void>;
}

async function harness(t: ExecutionContext, templates: Record<string, string>, configLines: string[] = []): Promise<Harness> {
  const clock = new FakeClock();
  const vault = await startVaultEmulator({ clock });
  t.teardown(() => vault.close());
  const files = Object.fromEntries(Object.entries(templates).map(([name, body]) => [`templates/${name}`, body]));
  const { dir, cleanup } = await scratch({
    ...files,
    'config.yaml': [
      'templates: ./templates', 'output: ./out', 'backend: vault', 'listen: ""', 'splay: 0s', 'retry: { min: 500ms, max: 2s }', 'log: { level: debug }',
      `vault: { address: "${vault.address}", auth: { token: "${vault.token}" }${configLines.includes('revoke') ? ', revokeOnShutdown: true' : ''} }`,
      'notifiers: { app: { touch: ./app.touched } }', '',
    ].join('\n'),
  });
  const chunks: string[] = [];
  const logStream = new Writable({ write(chunk: Buffer, _e, done) { chunks.push(chunk.toString('utf8')); done(); } });
  const agent = new Agent({
    io: { argv: [], env: {}, cwd: dir, stdout: logStream, stderr: logStream, logStream },
    flags: { config: join(dir, 'config.yaml') },
    clock,
    random: sequence(0.5, 0.1, 0.9, 0.3),
    cronFactory: () => ({ stop: () => undefined }),
    watchDebounceMs: 10,
  });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await agent.stop();
    await cleanup();
  });
  const stop = agent.stop.bind(agent);
  agent.stop = async (reason?: string) => { stopped = true; await stop(reason); };
  return {
    agent, vault, clock, dir, logs: () => chunks.join(''),
    step: async (ms) => {
      await clock.advance(ms);
      await agent.settled();
    },
  };
}

const userIn = (text: string): string => /^DB_USER='?([^'\n]+)'?$/m.exec(text)?.[1] ?? '<none>';

test('a 3 s / 9 s credential stays valid in the file at every moment of a 30 s run: renewals, and a replacement before each max TTL', async (t) => {
  const h = await harness(t, { 'database.env.hbs': DATABASE_ENV });
  h.vault.addDatabaseRole('api', { defaultTtl: 3, maxTtl: 9 });
  await h.agent.start();
  await h.agent.settled();
  const file = join(h.dir, 'out/database.env');
  const invalid: string[] = [];
  const users = new Set<string>();
  for (let elapsed = 0; elapsed <= 30_000; elapsed += 100) {
    const user = userIn(await readFile(file, 'utf8'));
    users.add(user);
    if (!h.vault.leases.validAt(user, h.clock.now())) invalid.push(`${elapsed} ms: ${user}`);
    await h.step(100);
  }
  t.deepEqual(invalid, [], h.logs().slice(-3000));
  const { issued, renewed } = h.vault.leases.counters;
  t.log(`30 s: ${issued} leases issued, ${renewed} renewals, ${users.size} credentials in the file`);
  t.true(users.size >= 4, 'at least three replacements');
  t.is(issued, users.size, 'one lease per credential written: no lease per cycle, none wasted');
  t.true(renewed >= 3 * (users.size - 1), 'each lease renewed before it was replaced');
  const metrics = await h.agent.metrics.text();
  t.regex(metrics, /vault_lease_renewals_total\{result="renewed"\} \d+/);
  t.regex(metrics, /vault_lease_renewals_total\{result="replaced"\} [3-9]/);
  t.regex(metrics, /vault_lease_ttl_seconds\{path="database\/creds\/api"\} [0-3]\n/);
  const status = h.agent.status() as { dynamic: { call: string; lease?: { expiresAt: string } }[] };
  t.is(status.dynamic[0]?.call, 'GET database/creds/api');
  t.truthy(status.dynamic[0]?.lease?.expiresAt);
  t.false(JSON.stringify(status).includes(users.values().next().value ?? '<none>'), 'no credential in the status');
});

test('during an outage longer than the lease the file keeps its bytes; once the lease ended the template reports ERR_LEASE_EXPIRED naming the call', async (t) => {
  const h = await harness(t, { 'database.env.hbs': DATABASE_ENV });
  h.vault.addDatabaseRole('api', { defaultTtl: 3, maxTtl: 60 });
  await h.agent.start();
  await h.agent.settled();
  const file = join(h.dir, 'out/database.env');
  const bytes = await readFile(file, 'utf8');
  const user = userIn(bytes);
  await h.step(500);
  h.vault.setSealed(true);
  type Status = { templates: { lastError?: { code: string; message: string } }[] };
  while (h.vault.leases.validAt(user, h.clock.now())) {
    t.is((h.agent.status() as Status).templates[0]?.lastError, undefined, 'no error while the lease lives');
    await h.step(100);
  }
  await h.step(100);
  for (let i = 0; i < 20; i++) {
    t.is(await readFile(file, 'utf8'), bytes, 'the file keeps its bytes');
    await h.step(100);
  }
  const error = (h.agent.status() as Status).templates[0]?.lastError;
  t.is(error?.code, 'ERR_LEASE_EXPIRED');
  t.regex(error?.message ?? '', /database\.env\.hbs:4: vault "database\/creds\/api": vault: the lease of GET database\/creds\/api ended at .* and no new one could be obtained \(.*HTTP 503.*\); the file keeps its last content/);
  t.regex(h.logs(), /"level":"warn"[^\n]*"code":"ERR_LEASE_EXPIRED"/, 'a warn line');
  t.regex(await h.agent.metrics.text(), /template_renders_total\{template="database\.env\.hbs",result="failed"\} [1-9]/);
  t.regex(await h.agent.metrics.text(), /vault_lease_ttl_seconds\{path="database\/creds\/api"\} 0\n/);
  h.vault.setSealed(false);
  for (let i = 0; i < 60 && userIn(await readFile(file, 'utf8')) === user; i++) await h.step(100);
  const next = userIn(await readFile(file, 'utf8'));
  t.not(next, user);
  t.true(h.vault.leases.isValid(next));
  t.is((h.agent.status() as Status).templates[0]?.lastError, undefined);
  const password = /^DB_PASSWORD='?([^'\n]+)'?$/m.exec(bytes)?.[1] ?? '<none>';
  t.false(h.logs().includes(password), 'no credential in any log line');
});

test('vault.revokeOnShutdown: true revokes the lease on stop; without it the lease is left to expire', async (t) => {
  for (const revoke of [true, false]) {
    const h = await harness(t, { 'database.env.hbs': DATABASE_ENV }, revoke ? ['revoke'] : []);
    h.vault.addDatabaseRole('api', { defaultTtl: 60, maxTtl: 600 });
    await h.agent.start();
    await h.agent.settled();
    const user = userIn(await readFile(join(h.dir, 'out/database.env'), 'utf8'));
    t.true(h.vault.leases.isValid(user));
    await h.agent.stop('SIGTERM');
    t.is(h.vault.leases.isValid(user), !revoke, revoke ? 'revoked' : 'left to expire');
    t.is(h.vault.leases.counters.revoked, revoke ? 1 : 0);
  }
});

test('a 6 s certificate is issued again before it expires; cert and key of one set always come from one issue', async (t) => {
  const set = (name: string, field: string): string => ['---', 'set: tls', `destination: ${name}`, '---', `{{#with (vault "pki/issue/api" common_name="api.dsta.internal" ttl="6s")}}{{${field}}}{{/with}}`, ''].join('\n');
  const h = await harness(t, { 'cert.pem.hbs': set('cert.pem', 'certificate'), 'key.pem.hbs': set('key.pem', 'private_key') });
  h.vault.addPkiRole('api', { allowedDomains: ['dsta.internal'], allowSubdomains: true, maxTtl: 3600, keyType: 'ec' });
  await h.agent.start();
  await h.agent.settled();
  const serials = new Set<string>();
  const problems: string[] = [];
  for (let elapsed = 0; elapsed <= 20_000; elapsed += 100) {
    // A reader that resolves ..data once, as a server reloading its TLS files does.
    const data = await realpath(join(h.dir, 'out/..data'));
    const cert = new X509Certificate(await readFile(join(data, 'cert.pem')));
    const key = createPrivateKey(await readFile(join(data, 'key.pem'), 'utf8'));
    serials.add(cert.serialNumber);
    if (!cert.checkPrivateKey(key)) problems.push(`${elapsed} ms: key of another issue`);
    if (Date.parse(cert.validTo) <= h.clock.now()) problems.push(`${elapsed} ms: expired certificate ${cert.serialNumber}`);
    await h.step(100);
  }
  t.deepEqual(problems, [], h.logs().slice(-3000));
  t.true(serials.size >= 4, `${serials.size} certificates in 20 s`);
  t.is(h.vault.pki().issued.length, serials.size, 'one issue per certificate written, shared by both templates');
  t.regex(await h.agent.metrics.text(), /certificate_expiry_timestamp_seconds\{path="pki\/issue\/api"\} \d+/);
});
