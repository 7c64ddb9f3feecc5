import test from 'ava';
import { candidateNames, EnvBackend, envName } from '../../agent/backends/env.js';

test('envName upper-cases and turns runs of other characters into one underscore', (t) => {
  t.is(envName('api-key'), 'API_KEY');
  t.is(envName('sentry.dsn--x'), 'SENTRY_DSN_X');
});

test('a value path tries the full name, then without the first segment, then the key alone', (t) => {
  t.deepEqual(candidateNames('exchange/binance/api_key'), ['EXCHANGE_BINANCE_API_KEY', 'BINANCE_API_KEY', 'API_KEY']);
  t.deepEqual(candidateNames('app/secret_key', 'DSTA_'), ['DSTA_APP_SECRET_KEY', 'DSTA_SECRET_KEY']);
});

test('the most specific variable wins', async (t) => {
  const backend = new EnvBackend({ env: { BINANCE_API_KEY: 'short', EXCHANGE_BINANCE_API_KEY: 'full' } });
  t.like(await backend.fetch({ kind: 'value', path: 'exchange/binance/api_key' }), { status: 'found', data: 'full' });
});

test('the seed layout falls back to BINANCE_API_KEY', async (t) => {
  const backend = new EnvBackend({ env: { BINANCE_API_KEY: 'k' } });
  t.like(await backend.fetch({ kind: 'value', path: 'exchange/binance/api_key' }), { status: 'found', data: 'k' });
});

test('the prefix applies to every candidate', async (t) => {
  const backend = new EnvBackend({ env: { SECRET_KEY: 'unprefixed', DSTA_SECRET_KEY: 'prefixed' }, prefix: 'DSTA_' });
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'prefixed' });
});

test('env.map names the variable for a path and nothing else is tried', async (t) => {
  const backend = new EnvBackend({ env: { PGPASS: 'mapped', POSTGRES_PASSWORD: 'guessed' }, map: { 'database/postgres/password': 'PGPASS' } });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/password' }), { status: 'found', data: 'mapped' });
  const unmapped = new EnvBackend({ env: { POSTGRES_PASSWORD: 'guessed' }, map: { 'database/postgres/password': 'PGPASS' } });
  t.is((await unmapped.fetch({ kind: 'value', path: 'database/postgres/password' })).status, 'not_found');
});

test('an empty variable is a value; an unset one is not found and says which names were tried', async (t) => {
  const backend = new EnvBackend({ env: { API_KEY: '' } });
  t.like(await backend.fetch({ kind: 'value', path: 'x/api_key' }), { status: 'found', data: '' });
  const missing = await backend.fetch({ kind: 'value', path: 'x/secret' });
  t.deepEqual(missing, { status: 'not_found', reason: 'none of X_SECRET, SECRET is set' });
});

test('a map path collects EXCHANGE_BINANCE_* with lower-cased keys', async (t) => {
  const backend = new EnvBackend({ env: { EXCHANGE_BINANCE_API_KEY: 'k', EXCHANGE_BINANCE_API_SECRET: 's', BINANCE_TESTNET: 'true' } });
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'exchange/binance' }), { status: 'found', data: { api_key: 'k', api_secret: 's' } });
});

test('a map path falls back to BINANCE_* when no EXCHANGE_BINANCE_* exists', async (t) => {
  const backend = new EnvBackend({ env: { BINANCE_API_KEY: 'k', BINANCE_TESTNET: 'true', BINANCEX: 'no' } });
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'exchange/binance' }), { status: 'found', data: { api_key: 'k', testnet: 'true' } });
  t.is((await backend.fetch({ kind: 'map', path: 'exchange/kraken' })).status, 'not_found');
});
