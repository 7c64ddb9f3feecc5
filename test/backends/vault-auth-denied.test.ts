// What a 403 costs Vault (docs/vault.md "Authentication"): a burst of denied reads checks the token once, not once
// per read; a token found dead earns one re-login, and while logging in keeps failing, further 403s on that token
// send nothing until the login backoff allows another attempt. Emulator only: tokens are revoked and counted.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { VaultEmulator } from '../fakes/vault/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { CredentialFiles } from './vault/files.js';
import { credentialFiles } from './vault/files.js';
import { backendFor, emulatorFor, targetOf } from './vault/helpers.js';
import { realVault } from './vault/target.js';

const maybe = realVault ? test.skip : test;
const paths = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => `team/${name}`);

async function rig(t: ExecutionContext, policies: string[]): Promise<{ server: VaultEmulator; files: CredentialFiles; clock: FakeClock; backend: ReturnType<typeof backendFor>['backend'] }> {
  const server = await emulatorFor(t);
  for (const path of paths) server.setSecret(path, { key: path });
  server.addAppRole({ roleId: 'r', secretId: 's', token: { ttl: 600, policies } });
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': 's' });
  const clock = new FakeClock();
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } }, { clock, random: () => 0 });
  t.teardown(() => backend.close());
  await backend.start();
  return { server, files, clock, backend };
}

const fetchAll = (backend: ReturnType<typeof backendFor>['backend']) => Promise.all(paths.map((path) => backend.fetch({ kind: 'value', path: `${path}/key` })));

maybe('a burst of 403s with a valid token costs one token lookup, not one per read, and no login', async (t) => {
  const { server, backend } = await rig(t, ['default']);
  const lookups = server.counters.count({ route: 'lookup-self' });
  const outcomes = await fetchAll(backend);
  t.deepEqual(outcomes.map((outcome) => outcome.status), paths.map(() => 'denied'));
  t.is(server.counters.count({ route: 'lookup-self' }) - lookups, 1);
  t.is(server.counters.count({ route: 'login:approle' }), 1);
});

maybe('a burst of 403s on a revoked token costs one lookup and one re-login, then each read is retried once', async (t) => {
  const { server, backend } = await rig(t, ['root']);
  const first = server.counters.requests.find((request) => request.route === 'lookup-self')?.token ?? '';
  server.revokeToken(first);
  const lookups = server.counters.count({ route: 'lookup-self' });
  const outcomes = await fetchAll(backend);
  t.deepEqual(outcomes.map((outcome) => outcome.status), paths.map(() => 'found'));
  t.is(server.counters.count({ route: 'login:approle' }), 2);
  // One lookup of the dead token, one of the new token after its login.
  t.is(server.counters.count({ route: 'lookup-self' }) - lookups, 2);
  t.is(server.counters.count({ route: 'kv' }), 2 * paths.length);
});

maybe('while the re-login keeps failing, 403s on the dead token send no lookup and no login until the backoff allows one', async (t) => {
  const { server, files, clock, backend } = await rig(t, ['root']);
  const first = server.counters.requests.find((request) => request.route === 'lookup-self')?.token ?? '';
  server.revokeToken(first);
  await files.write('secret-id', 'rotated-away');
  const read = () => backend.fetch({ kind: 'value', path: `${paths[0] ?? ''}/key` });
  t.like(await read(), { status: 'denied' });
  const lookups = server.counters.count({ route: 'lookup-self' });
  t.is(server.counters.count({ route: 'login:approle' }), 2, 'one re-login for the first 403');
  for (let i = 0; i < 5; i++) t.like(await read(), { status: 'denied' });
  await fetchAll(backend);
  t.is(server.counters.count({ route: 'login:approle' }), 2, 'no login before the backoff (retryDelay(0) = 500 ms with random 0)');
  t.is(server.counters.count({ route: 'lookup-self' }), lookups, 'a token Vault called dead is not looked up again');
  await clock.advance(500);
  await files.write('secret-id', 's');
  t.like(await read(), { status: 'found' });
  t.is(server.counters.count({ route: 'login:approle' }), 3);
});
