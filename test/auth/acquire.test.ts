// The Acquirer's sharing rules with fakes of its own interfaces: concurrent acquisitions share one login,
// and a token-file change during a reload is never lost.
import test from 'ava';
import { Acquirer } from '../../agent/backends/vault/auth/acquire.js';
import type { Grant } from '../../agent/backends/vault/auth/grants.js';
import type { AuthMethod, LoginResult } from '../../agent/backends/vault/auth/methods.js';
import type { Reply, VaultHttp } from '../../agent/backends/vault/http.js';

/** A method whose logins return `file.token`, each one waiting for the test to release it. */
function manualMethod(): { method: AuthMethod; file: { token: string }; release: () => void; calls: () => number } {
  const file = { token: 't1' };
  const waiting: (() => void)[] = [];
  let calls = 0;
  const method: AuthMethod = {
    name: 'token',
    canLogin: false,
    tokenFile: '/var/run/token',
    login: async (): Promise<LoginResult> => {
      calls += 1;
      await new Promise<void>((resolve) => waiting.push(resolve));
      return { ok: true, token: file.token, grant: undefined };
    },
  };
  return { method, file, release: () => { waiting.shift()?.(); }, calls: () => calls };
}

/** lookup-self that accepts every token with a 60 s TTL. */
const http = {
  where: (method: string, path: string) => `vault test: ${method} ${path}`,
  get: (): Promise<Reply> => Promise.resolve({ kind: 'ok', body: { data: { ttl: 60, renewable: true, creation_ttl: 60 } } }),
} as unknown as VaultHttp;

/** Let queued promise callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('concurrent acquisitions share one login', async (t) => {
  const { method, release, calls } = manualMethod();
  const adopted: Grant[] = [];
  const acquirer = new Acquirer({ method, http, current: () => adopted.at(-1)?.token, adopt: (grant) => adopted.push(grant), fail: () => undefined });
  const all = Promise.all([acquirer.acquire(), acquirer.acquire(), acquirer.acquire()]);
  await tick();
  release();
  t.deepEqual(await all, [{ ok: true }, { ok: true }, { ok: true }]);
  t.is(calls(), 1);
  t.deepEqual(adopted.map((grant) => grant.token), ['t1']);
});

test('a token-file change during a reload triggers one more read, so the newest token wins', async (t) => {
  const { method, file, release, calls } = manualMethod();
  const adopted: string[] = ['t0'];
  const acquirer = new Acquirer({ method, http, current: () => adopted.at(-1), adopt: (grant) => adopted.push(grant.token), fail: () => undefined });
  const first = acquirer.reload();
  await tick();
  const second = acquirer.reload();
  const third = acquirer.reload();
  t.is(second, third);
  release();
  t.true(await first);
  file.token = 't2';
  await tick();
  release();
  t.true(await second);
  t.is(calls(), 2);
  t.deepEqual(adopted, ['t0', 't1', 't2']);
});
