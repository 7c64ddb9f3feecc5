// The stale warnings of a pass (agent/runtime/stale-log.ts): one line per backend, the first paths named.
import test from 'ava';
import { staleLines } from '../../agent/runtime/stale-log.js';

const sealed = (path: string): string => `vault http://127.0.0.1:8200: GET secret/data/${path}: HTTP 503: Vault is sealed`;

test('one stale path keeps the line operators grep for, with its version', (t) => {
  t.deepEqual(staleLines([{ path: 'exchange/binance/api_key', backend: 'vault', version: '3', reason: sealed('exchange/binance') }]), [
    {
      msg: `serving the last good value of "exchange/binance/api_key" from vault (stale): ${sealed('exchange/binance')}`,
      fields: { backend: 'vault', paths: 1, path: 'exchange/binance/api_key', reason: sealed('exchange/binance'), version: '3' },
    },
  ]);
});

test('2,000 stale paths of one backend are one line: the count, three paths, how many more, the first reason', (t) => {
  const reads = Array.from({ length: 2000 }, (_, i) => ({ path: `app/p${i}/key`, backend: 'vault', reason: sealed(`app/p${i}`) }));
  const lines = staleLines(reads);
  t.deepEqual(lines, [
    {
      msg: `serving the last good value of 2000 paths from vault (stale) ("app/p0/key", "app/p1/key", "app/p2/key" and 1997 more): ${sealed('app/p0')}`,
      fields: { backend: 'vault', paths: 2000, path: 'app/p0/key', reason: sealed('app/p0') },
    },
  ]);
});

test('backends are separate lines in the order first seen; two paths are both named, with no "more"', (t) => {
  const lines = staleLines([
    { path: 'a/x', backend: 'aws', reason: 'throttled' },
    { path: 'b/y', backend: 'vault', reason: sealed('b') },
    { path: 'c/z', backend: 'aws', reason: 'throttled again' },
  ]);
  t.deepEqual(lines.map((line) => line.msg), [
    'serving the last good value of 2 paths from aws (stale) ("a/x", "c/z"): throttled',
    `serving the last good value of "b/y" from vault (stale): ${sealed('b')}`,
  ]);
});

test('nothing stale, nothing logged', (t) => {
  t.deepEqual(staleLines([]), []);
});
