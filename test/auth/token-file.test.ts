// vault.auth.tokenFile: a changed file replaces the token (watched as a directory, so Kubernetes' `..data`
// swaps are seen), an invalid or unchanged one is ignored, and a new token never re-fetches a secret.
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { credentialFiles } from '../backends/vault/files.js';
import { directoryWatcher } from '../../agent/backends/vault/auth/token-file.js';
import { backendFor, captureLog, emulatorFor, targetOf } from '../backends/vault/helpers.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { realVault } from '../backends/vault/target.js';

const maybe = realVault ? test.skip : test;
const ref = { kind: 'value', path: 'app/secret_key' } as const;

maybe('a changed token file is adopted: the next read carries it and nothing is fetched again', async (t) => {
  const clock = new FakeClock();
  const server = await emulatorFor(t, { clock });
  server.setSecret('app', { secret_key: 'sk' });
  const [first, second] = [server.createToken({ ttl: 600, policies: ['root'] }), server.createToken({ ttl: 900, policies: ['root'] })];
  const files = await credentialFiles(t, { token: `${first}\n` });
  const { backend, logText } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', tokenFile: files.path('token') } }, { clock });
  await backend.start();
  await backend.fetch(ref);
  await files.write('token', second);
  t.true(await backend.reloadTokenFile());
  t.is(server.counters.count({ route: 'kv' }), 1);
  t.like(backend.tokenStatus(), { ttlSeconds: 900 });
  t.regex(logText(), /"msg":"vault token replaced"/);
  await backend.fetch(ref);
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'kv').map((r) => r.token), [first, second]);
  await backend.close();
});

maybe('an unchanged, empty or rejected token file keeps the token in use', async (t) => {
  const server = await emulatorFor(t);
  const first = server.createToken({ ttl: 600, policies: ['root'] });
  const revoked = server.createToken({ ttl: 600 });
  server.revokeToken(revoked);
  const files = await credentialFiles(t, { token: first });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', tokenFile: files.path('token') } });
  await backend.start();
  t.false(await backend.reloadTokenFile());
  await files.write('token', '');
  t.false(await backend.reloadTokenFile());
  await files.write('token', revoked);
  t.false(await backend.reloadTokenFile());
  t.regex(backend.tokenStatus().lastError ?? '', /^the new token in vault.auth.tokenFile was not accepted: .*lookup-self: permission denied/);
  server.setSecret('app', { secret_key: 'sk' });
  await backend.fetch(ref);
  t.is(server.counters.requests.at(-1)?.token, first);
  await backend.close();
});

maybe('after a 403 an expired token is replaced by re-reading the token file, and the read retried once', async (t) => {
  const server = await emulatorFor(t);
  server.setSecret('app', { secret_key: 'sk' });
  const [first, second] = [server.createToken({ ttl: 600, policies: ['root'] }), server.createToken({ ttl: 600, policies: ['root'] })];
  const files = await credentialFiles(t, { token: first });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', tokenFile: files.path('token') } });
  await backend.start();
  server.revokeToken(first);
  await files.write('token', second);
  t.like(await backend.fetch(ref), { status: 'found', data: 'sk' });
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'kv').map((r) => r.token), [first, second]);
  await backend.close();
});

maybe('a token value that is revoked cannot be replaced: the read is denied and health says why', async (t) => {
  const server = await emulatorFor(t);
  server.setSecret('app', { secret_key: 'sk' });
  const token = server.createToken({ ttl: 600, policies: ['root'] });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', token } });
  await backend.start();
  server.revokeToken(token);
  t.like(await backend.fetch(ref), { status: 'denied' });
  t.is(server.counters.count({ route: 'kv' }), 1);
  t.regex(backend.tokenStatus().lastError ?? '', /vault token was rejected .* cannot be replaced without a restart/);
  await backend.close();
});

maybe('the directory watch sees a Kubernetes-style ..data swap and adopts the new token', async (t) => {
  const server = await emulatorFor(t);
  const [first, second] = [server.createToken({ ttl: 600, policies: ['root'] }), server.createToken({ ttl: 600, policies: ['root'] })];
  const files = await credentialFiles(t, {});
  // The projected-volume layout: token -> ..data/token, ..data -> ..<timestamp>
  await mkdir(join(files.dir, '..v1'));
  await writeFile(join(files.dir, '..v1', 'token'), first);
  await symlink('..v1', join(files.dir, '..data'));
  await symlink('..data/token', join(files.dir, 'token'));
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', tokenFile: files.path('token') } }, { watchTokenFile: directoryWatcher(captureLog().log) });
  await backend.start();
  await mkdir(join(files.dir, '..v2'));
  await writeFile(join(files.dir, '..v2', 'token'), second);
  await symlink('..v2', join(files.dir, '..data_tmp'));
  await rename(join(files.dir, '..data_tmp'), join(files.dir, '..data'));
  const adopted = await eventually(() => server.counters.requests.some((r) => r.route === 'lookup-self' && r.token === second));
  t.true(adopted, 'the watcher re-read the file and looked the new token up');
  await backend.settled();
  server.setSecret('app', { secret_key: 'sk' });
  await backend.fetch(ref);
  t.is(server.counters.requests.at(-1)?.token, second);
  await backend.close();
});

/** Poll `check` until true or 400 tries (file events arrive asynchronously); the result is asserted, not the time. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  return check();
}
