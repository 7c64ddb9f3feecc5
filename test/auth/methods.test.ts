// The login methods read their credential files at every login (secret ids and projected JWTs rotate),
// and say which file or endpoint failed — never a credential.
import test from 'ava';
import { credentialFiles } from '../backends/vault/files.js';
import { backendFor, emulatorFor, targetOf } from '../backends/vault/helpers.js';
import { realVault } from '../backends/vault/target.js';

const maybe = realVault ? test.skip : test;
const ref = { kind: 'value', path: 'app/secret_key' } as const;

maybe('approle reads the role id and secret id files at every login, and logs in without a token', async (t) => {
  const server = await emulatorFor(t);
  server.setSecret('app', { secret_key: 'sk' });
  server.addAppRole({ roleId: 'role-1', secretId: 'secret-1', token: { ttl: 600, policies: ['root'] } });
  server.addAppRole({ roleId: 'role-2', secretId: 'secret-2', token: { ttl: 600, policies: ['root'] } });
  const files = await credentialFiles(t, { 'role-id': 'role-1\n', 'secret-id': 'secret-1\n' });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  await backend.start();
  await files.write('role-id', 'role-2');
  await files.write('secret-id', 'secret-2');
  server.revokeToken(server.counters.requests.at(-1)?.token ?? '');
  t.like(await backend.fetch(ref), { status: 'found' });
  const logins = server.counters.requests.filter((r) => r.route === 'login:approle');
  t.deepEqual(logins.map((r) => r.body), [{ role_id: 'role-1', secret_id: 'secret-1' }, { role_id: 'role-2', secret_id: 'secret-2' }]);
  t.deepEqual(logins.map((r) => r.token), [undefined, undefined], 'a login never carries the old (possibly expired) token');
  await backend.close();
});

maybe('kubernetes re-reads the service-account JWT at every login and sends the role', async (t) => {
  const server = await emulatorFor(t);
  server.setSecret('app', { secret_key: 'sk' });
  server.addKubernetesRole({ role: 'api-server', jwt: 'jwt-1', token: { ttl: 600, policies: ['root'] } });
  server.addKubernetesRole({ role: 'api-server', jwt: 'jwt-2', token: { ttl: 600, policies: ['root'] } });
  const files = await credentialFiles(t, { jwt: 'jwt-1' });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'kubernetes', role: 'api-server', jwtFile: files.path('jwt') } });
  await backend.start();
  await files.write('jwt', 'jwt-2');
  server.revokeToken(server.counters.requests.at(-1)?.token ?? '');
  t.like(await backend.fetch(ref), { status: 'found' });
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'login:kubernetes').map((r) => r.body), [{ role: 'api-server', jwt: 'jwt-1' }, { role: 'api-server', jwt: 'jwt-2' }]);
  await backend.close();
});

maybe('a missing credential file is ERR_AUTH naming the key and the file, and nothing is sent', async (t) => {
  const server = await emulatorFor(t);
  const files = await credentialFiles(t, { 'role-id': 'role-1' });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  await t.throwsAsync(backend.start(), { code: 'ERR_AUTH', message: `vault.auth.secretIdFile: cannot read ${files.path('secret-id')}: ENOENT` });
  await t.throwsAsync(backend.fetch(ref), { code: 'ERR_AUTH' });
  t.is(server.counters.requests.length, 0);
  await backend.close();
});

maybe('a refused login is ERR_AUTH naming the endpoint, never the credentials', async (t) => {
  const server = await emulatorFor(t);
  server.addAppRole({ roleId: 'role-1', secretId: 'the-right-one' });
  server.addKubernetesRole({ role: 'api-server', jwt: 'jwt-right' });
  const files = await credentialFiles(t, { 'role-id': 'role-1', 'secret-id': 'a-wrong-secret-id', jwt: 'a-wrong-jwt' });
  const approle = backendFor(targetOf(server), { auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  const approleError = await t.throwsAsync(approle.backend.start());
  t.like(approleError, { code: 'ERR_AUTH', message: `approle login refused: vault ${server.address}: POST auth/approle/login: HTTP 400: invalid role or secret ID` });
  const k8s = backendFor(targetOf(server), { auth: { method: 'kubernetes', role: 'api-server', jwtFile: files.path('jwt') } });
  const k8sError = await t.throwsAsync(k8s.backend.start());
  t.like(k8sError, { code: 'ERR_AUTH', message: `kubernetes login refused: vault ${server.address}: POST auth/kubernetes/login: permission denied (HTTP 403)` });
  t.false(`${approle.logText()}${k8s.logText()}${approleError.message}${k8sError.message}`.includes('wrong'));
});

maybe('the token method without a token or file is ERR_AUTH saying what to set', async (t) => {
  const server = await emulatorFor(t);
  const { backend } = backendFor(targetOf(server), { auth: { method: 'token' } });
  await t.throwsAsync(backend.start(), { code: 'ERR_AUTH', message: 'no vault token: set vault.auth.token (VAULT_TOKEN) or vault.auth.tokenFile (VAULT_TOKEN_FILE)' });
});
