// secret_age_seconds from the creation times the cycle's reads carried, computed at scrape time.
import test from 'ava';
import { Gauge, Registry } from 'prom-client';
import { SecretAgeBook } from '../../agent/runtime/secret-ages.js';
import type { Resolution } from '../../agent/store/store.js';

function gauge(): { gauge: Gauge<'path'>; registry: Registry } {
  const registry = new Registry();
  return { registry, gauge: new Gauge({ name: 'secret_age_seconds', help: 'age', labelNames: ['path'], registers: [registry] }) };
}

const created = '2026-11-01T00:00:00.000Z';
const createdMs = Date.parse(created);

test('each path gets the seconds since its version was created, at the time of the scrape', async (t) => {
  const book = new SecretAgeBook();
  const { gauge: ages, registry } = gauge();
  book.record(new Map<string, Resolution>([
    ['*|value:exchange/binance/api_key', { status: 'found', data: 'x', backend: 'vault', version: '3', meta: { secret: 'exchange/binance', createdAt: created } }],
    ['aws|map:database/postgres', { status: 'found', data: {}, backend: 'aws', meta: { secret: 'dsta/database/postgres', createdAt: '2026-11-02T00:00:00.000Z' } }],
    ['*|value:app/from_file', { status: 'found', data: 'x', backend: 'file' }],
    ['*|value:app/no_time', { status: 'found', data: 'x', backend: 'vault', meta: { secret: 'app' } }],
    ['*|value:app/missing', { status: 'not_found', tried: ['vault'] }],
  ]));
  book.sample(ages, createdMs + 90 * 86_400_000 + 1_999);
  const text = await registry.metrics();
  t.regex(text, /^secret_age_seconds\{path="exchange\/binance\/api_key"\} 7776001$/m);
  t.regex(text, /^secret_age_seconds\{path="database\/postgres"\} 7689601$/m);
  t.false(/app\//.test(text), 'no series for file values, a read without a time, or a missing path');
  book.sample(ages, createdMs + 10_000);
  t.regex(await registry.metrics(), /^secret_age_seconds\{path="exchange\/binance\/api_key"\} 10$/m, 'the next scrape is exact, no cycle needed');
});

test('a backend clock ahead of ours reads as age 0, and a later cycle replaces the book', async (t) => {
  const book = new SecretAgeBook();
  const { gauge: ages, registry } = gauge();
  book.record(new Map<string, Resolution>([['*|value:a/b', { status: 'found', data: 'x', backend: 'vault', meta: { secret: 'a', createdAt: created } }]]));
  book.sample(ages, createdMs - 5_000);
  t.regex(await registry.metrics(), /^secret_age_seconds\{path="a\/b"\} 0$/m);
  book.record(new Map<string, Resolution>([['*|value:c/d', { status: 'found', data: 'x', backend: 'aws', meta: { secret: 'c', createdAt: created } }]]));
  book.sample(ages, createdMs + 1_000);
  const text = await registry.metrics();
  t.false(text.includes('path="a/b"'), 'a path no template uses any more disappears');
  t.regex(text, /^secret_age_seconds\{path="c\/d"\} 1$/m);
});
