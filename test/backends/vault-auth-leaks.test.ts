// A token that is not the held one — a new token from vault.auth.tokenFile being checked — never reaches an error,
// tokenStatus or a log line, whatever Vault or a proxy says back (docs/vault.md "The token"). Emulator only.
import test from 'ava';
import { credentialFiles } from './vault/files.js';
import { backendFor, emulatorFor, targetOf } from './vault/helpers.js';
import { realVault } from './vault/target.js';

const maybe = realVault ? test.skip : test;

maybe('a new token-file token that Vault refuses in words that echo it is scrubbed from tokenStatus and the log', async (t) => {
  const server = await emulatorFor(t);
  const first = server.createToken({ ttl: 3600, policies: ['root'] });
  const files = await credentialFiles(t, { token: first });
  const { backend, logText } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', tokenFile: files.path('token') } });
  t.teardown(() => backend.close());
  await backend.start();
  const next = 'hvs.NEWTOKENabcdefghijklmnop';
  await files.write('token', next);
  server.faults.add({ kind: 'status', status: 400, errors: [`invalid token "${next}"`] }, { path: 'auth/token/lookup-self' });
  t.false(await backend.reloadTokenFile());
  const lastError = backend.tokenStatus().lastError ?? '';
  t.regex(lastError, /the new token in vault.auth.tokenFile was not accepted: .*HTTP 400/);
  t.false(lastError.includes(next), lastError);
  t.false(logText().includes(next));
});

maybe('a login refused in words that echo its secret_id or JWT never shows them in the error, tokenStatus or the log', async (t) => {
  const server = await emulatorFor(t);
  const secretId = 'SECRET-ID-echoed-3b8f';
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.JWT-echoed-77aa.sig';
  server.addAppRole({ roleId: 'r', secretId, token: { ttl: 600, policies: ['root'] } });
  server.addKubernetesRole({ role: 'api', jwt });
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': secretId, jwt });
  server.faults.add({ kind: 'status', status: 400, errors: [`invalid secret id "${secretId}"`] }, { path: 'auth/approle/login' });
  server.faults.add({ kind: 'status', status: 400, errors: [`could not validate ${jwt}`] }, { path: 'auth/kubernetes/login' });
  const auths = [
    { method: 'approle' as const, roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') },
    { method: 'kubernetes' as const, role: 'api', jwtFile: files.path('jwt') },
  ];
  const leaked: string[] = [];
  for (const auth of auths) {
    const { backend, logText } = backendFor(targetOf(server), { kvVersion: 2, auth });
    t.teardown(() => backend.close());
    const error = await t.throwsAsync(backend.start(), { code: 'ERR_AUTH' });
    t.regex(error.message, /login refused: .*HTTP 400/);
    const haystack = [error.message, error.stack ?? '', JSON.stringify(backend.tokenStatus()), logText()].join('\n');
    leaked.push(...[secretId, jwt].filter((secret) => haystack.includes(secret)).map((secret) => `${auth.method}: ${secret}`));
  }
  t.deepEqual(leaked, []);
});
