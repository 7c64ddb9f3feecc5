// No token, credential or secret value ever appears in a log line, an outcome reason or an error (message,
// stack, JSON, pino's err serialization) — across logins, renewals, re-logins and every failure class.
import test from 'ava';
import type { Outcome } from '../../agent/backends/backend.js';
import { isAgentError } from '../../agent/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { credentialFiles } from './vault/files.js';
import { backendFor, captureLog, emulatorFor, targetOf } from './vault/helpers.js';
import { realVault } from './vault/target.js';

const maybe = realVault ? test.skip : test;
const VALUES = ['VALUE-api-key-7f3a', 'VALUE-api-secret-19c2', 'VALUE-new-key-55e1', 'VALUE-lost-write-0b9d'];

maybe('tokens, credentials and values never reach a log line, a reason or an error', async (t) => {
  const clock = new FakeClock();
  const server = await emulatorFor(t, { clock, rootToken: 'hvs.ROOT-never-logged' });
  server.setSecret('exchange/binance', { api_key: 'VALUE-api-key-7f3a', api_secret: 'VALUE-api-secret-19c2' });
  server.addAppRole({ roleId: 'ROLE-ID-4d1e', secretId: 'SECRET-ID-9a7c', token: { ttl: 30, maxTtl: 50, policies: ['root'] } });
  const files = await credentialFiles(t, { 'role-id': 'ROLE-ID-4d1e', 'secret-id': 'SECRET-ID-9a7c' });
  const { backend, logText } = backendFor(targetOf(server), { timeout: '2s', auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } }, { clock, random: () => 0 });
  const seen: string[] = [];
  const { log: errorLog, text: errorLogText } = captureLog();
  // Found outcomes carry values by design; what must stay clean is every reason and status.
  const keep = (outcome: Outcome | Map<string, Outcome>) => {
    for (const one of outcome instanceof Map ? outcome.values() : [outcome]) seen.push(one.status === 'found' ? 'found' : JSON.stringify(one));
  };
  const keepError = (error: unknown) => {
    t.true(isAgentError(error), String(error));
    const { message, stack } = error as Error;
    seen.push(message, stack ?? '', JSON.stringify(error), String((error as Error).cause));
    errorLog.error({ err: error }, 'failed');
  };
  const ref = { kind: 'value', path: 'exchange/binance/api_key' } as const;

  await backend.start();
  keep(await backend.fetchMany([ref, { kind: 'map', path: 'exchange/binance' }]));
  server.faults.add({ kind: 'status', status: 500, errors: [`upstream said ${server.counters.requests.at(-1)?.token ?? ''}`] }, { times: 1 });
  keep(await backend.fetch(ref));
  for (const fault of [{ kind: 'reset' }, { kind: 'rate-limit' }, { kind: 'delay', ms: 10_000 }, { kind: 'status', status: 503, errors: ['Vault is sealed'] }] as const) {
    server.faults.add(fault, { times: 1 });
    keep(await backend.fetch(ref));
  }
  server.faults.add({ kind: 'malformed' }, { times: 1 });
  await backend.fetch(ref).catch(keepError);
  await backend.write('exchange/binance', { api_key: 'VALUE-new-key-55e1' }, { cas: 1 });
  await backend.write('exchange/binance', { api_key: 'VALUE-lost-write-0b9d' }, { cas: 1 }).catch(keepError);
  server.revokeToken(server.counters.requests.at(-1)?.token ?? '');
  keep(await backend.fetch(ref));
  server.faults.add({ kind: 'status', status: 403 }, { path: 'secret/data/exchange/binance', times: 1 });
  keep(await backend.fetch(ref));
  server.faults.add({ kind: 'status', status: 500 }, { path: 'auth/token/renew-self', times: 1 });
  server.faults.add({ kind: 'status', status: 400, errors: ['invalid role or secret ID'] }, { path: 'auth/approle/login', times: 1 });
  for (let i = 0; i < 8; i++) {
    await clock.advance(10_000);
    await backend.settled();
  }
  seen.push(JSON.stringify(backend.tokenStatus()));
  await backend.close();

  const tokens = new Set(server.counters.requests.flatMap((r) => (r.token === undefined ? [] : [r.token])));
  t.true(tokens.size >= 4, `${tokens.size} distinct tokens were used`);
  const forbidden = [...tokens, 'SECRET-ID-9a7c', 'ROLE-ID-4d1e', ...VALUES];
  const haystack = [logText(), errorLogText(), ...seen].join('\n');
  t.true(haystack.includes('[token]'), 'a token echoed by Vault is replaced in the reason');
  t.true(logText().includes('vault token replaced'));
  t.deepEqual(forbidden.filter((secret) => haystack.includes(secret)), []);
});
