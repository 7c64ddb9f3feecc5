// A template removed by a SIGHUP reload, end to end in-process against the Vault emulator on one FakeClock
// (docs/vault.md "Shutdown, metrics and status"): its lease is no longer renewed, and vault.revokeOnShutdown still
// revokes it while it lives.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { Agent } from '../../agent/agent.js';
import { scratch } from '../helpers/cli.js';
import { FakeClock, sequence } from '../helpers/fake-clock.js';
import { startVaultEmulator } from '../fakes/vault/index.js';

const envOf = (role: string): string => [`{{#with (vault "database/creds/${role}")}}`, 'DB_USER={{username}}', '{{/with}}', ''].join('\n');
const userIn = (text: string): string => /^DB_USER='?([^'\n]+)'?$/m.exec(text)?.[1] ?? '<none>';

test('a template removed by a reload: its lease is no longer renewed, and revokeOnShutdown revokes it on stop', async (t) => {
  const clock = new FakeClock();
  const vault = await startVaultEmulator({ clock });
  t.teardown(() => vault.close());
  vault.addDatabaseRole('api', { defaultTtl: 60, maxTtl: 600 });
  vault.addDatabaseRole('worker', { defaultTtl: 60, maxTtl: 600 });
  const { dir, cleanup } = await scratch({
    'templates/api.env.hbs': envOf('api'),
    'templates/worker.env.hbs': envOf('worker'),
    'config.yaml': [
      'templates: ./templates', 'output: ./out', 'backend: vault', 'listen: ""', 'splay: 0s', 'retry: { min: 500ms, max: 2s }',
      `vault: { address: "${vault.address}", auth: { token: "${vault.token}" }, revokeOnShutdown: true }`, '',
    ].join('\n'),
  });
  const sink = new Writable({ write(_chunk: Buffer, _e, done) { done(); } });
  const agent = new Agent({
    io: { argv: [], env: {}, cwd: dir, stdout: sink, stderr: sink, logStream: sink },
    flags: { config: join(dir, 'config.yaml') },
    clock,
    random: sequence(0.5),
    cronFactory: () => ({ stop: () => undefined }),
    watchDebounceMs: 10,
  });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await agent.stop();
    await cleanup();
  });
  await agent.start();
  await agent.settled();
  const api = userIn(await readFile(join(dir, 'out/api.env'), 'utf8'));
  const worker = userIn(await readFile(join(dir, 'out/worker.env'), 'utf8'));
  t.true(vault.leases.isValid(api) && vault.leases.isValid(worker));
  await rm(join(dir, 'templates/worker.env.hbs'));
  await agent.reload();
  await agent.settled();
  for (let i = 0; i < 45; i++) {
    await clock.advance(1000);
    await agent.settled();
  }
  t.is(vault.leases.counters.renewed, 1, 'only the api lease was renewed (at ~38 s)');
  t.true(vault.leases.isValid(worker), 'the worker lease still lives: left to expire, or revoked at shutdown');
  stopped = true;
  await agent.stop('SIGTERM');
  t.false(vault.leases.isValid(api), 'the held lease is revoked');
  t.false(vault.leases.isValid(worker), 'the lease of the removed template is revoked too');
});
