import test from 'ava';
import { candidateNames, EnvBackend, envName, isProcessVariable } from '../../agent/backends/env.js';

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

// Kubernetes injects these for a Service named `postgres` in the same namespace (service links).
const postgresServiceLinks = {
  POSTGRES_SERVICE_HOST: '10.96.0.12',
  POSTGRES_SERVICE_PORT: '5432',
  POSTGRES_SERVICE_PORT_SQL: '5432',
  POSTGRES_PORT: 'tcp://10.96.0.12:5432',
  POSTGRES_PORT_5432_TCP: 'tcp://10.96.0.12:5432',
  POSTGRES_PORT_5432_TCP_PROTO: 'tcp',
  POSTGRES_PORT_5432_TCP_PORT: '5432',
  POSTGRES_PORT_5432_TCP_ADDR: '10.96.0.12',
};

test('bug: a Kubernetes service link is not found for database/postgres/port, so default= applies', async (t) => {
  const backend = new EnvBackend({ env: postgresServiceLinks, prefix: '' });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/port' }), { status: 'not_found' });
});

test('bug: the process USER is not found for database/postgres/user, so default= applies', async (t) => {
  const backend = new EnvBackend({ env: { USER: 'root', HOME: '/root', PATH: '/usr/bin' }, prefix: '' });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/user' }), { status: 'not_found' });
});

test('a skipped variable lets the lookup move on to the next candidate and is named in the reason', async (t) => {
  const backend = new EnvBackend({ env: { ...postgresServiceLinks, PORT: '8080' } });
  t.deepEqual(await backend.fetch({ kind: 'value', path: 'database/postgres/port' }), { status: 'found', data: '8080', version: 'env:PORT' });
  const missing = await new EnvBackend({ env: { USER: 'root' } }).fetch({ kind: 'value', path: 'app/user' });
  t.deepEqual(missing, { status: 'not_found', reason: 'none of APP_USER, USER is set (skipped, set by the system or runtime: USER)' });
});

test('FOO_PORT without FOO_SERVICE_HOST is a secret like any other; with it, a service link', async (t) => {
  const backend = new EnvBackend({ env: { FOO_PORT: '6543', FOO_PORT_5432_TCP: 'x', ...postgresServiceLinks } });
  t.like(await backend.fetch({ kind: 'value', path: 'app/foo/port' }), { status: 'found', data: '6543' });
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'app/foo' }), { status: 'found', data: { port: '6543', port_5432_tcp: 'x' } });
  t.like(await backend.fetch({ kind: 'value', path: 'app/postgres/port' }), { status: 'not_found' });
});

test('a map path skips service links and listed variables but keeps the real secrets', async (t) => {
  const backend = new EnvBackend({ env: { ...postgresServiceLinks, POSTGRES_PASSWORD: 'pw', POSTGRES_DB: 'app' } });
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'database/postgres' }), { status: 'found', data: { password: 'pw', db: 'app' } });
  const onlyLinks = new EnvBackend({ env: postgresServiceLinks });
  t.like(await onlyLinks.fetch({ kind: 'map', path: 'database/postgres' }), { status: 'not_found' });
  const runtime = new EnvBackend({ env: { NODE_ENV: 'production', NODE_OPTIONS: '--max-old-space-size=64', KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_PORT: 'tcp://10.96.0.1:443' } });
  t.like(await runtime.fetch({ kind: 'map', path: 'runtime/node' }), { status: 'not_found' });
  t.like(await runtime.fetch({ kind: 'map', path: 'cluster/kubernetes' }), { status: 'not_found' });
});

test('with a prefix nothing is excluded: the operator named those variables', async (t) => {
  const env = { USER: 'root', DSTA_USER: 'dsta', DSTA_POSTGRES_SERVICE_HOST: '10.0.0.1', DSTA_POSTGRES_PORT: '5433', DSTA_NODE_ENV: 'x' };
  const backend = new EnvBackend({ env, prefix: 'DSTA_' });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/user' }), { status: 'found', data: 'dsta' });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/port' }), { status: 'found', data: '5433' });
  t.like(await backend.fetch({ kind: 'value', path: 'runtime/node_env' }), { status: 'found', data: 'x' });
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'database/postgres' }), { status: 'found', data: { service_host: '10.0.0.1', port: '5433' } });
  // The same environment without the prefix: USER is the process's, not a secret.
  t.like(await new EnvBackend({ env, prefix: '' }).fetch({ kind: 'value', path: 'database/postgres/user' }), { status: 'not_found' });
});

test('env.map is honoured even for a variable on the list; the same name unmapped is skipped', async (t) => {
  const backend = new EnvBackend({ env: { USER: 'root', ...postgresServiceLinks }, map: { 'database/postgres/user': 'USER', 'database/postgres/host': 'POSTGRES_SERVICE_HOST' } });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/user' }), { status: 'found', data: 'root', version: 'env:USER' });
  t.like(await backend.fetch({ kind: 'value', path: 'database/postgres/host' }), { status: 'found', data: '10.96.0.12' });
  t.like(await backend.fetch({ kind: 'value', path: 'app/user' }), { status: 'not_found' });
  t.like(await backend.fetch({ kind: 'value', path: 'app/postgres/service_host' }), { status: 'not_found' });
});

test('a skipped variable is logged at debug by name, never by value', async (t) => {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const log = { debug: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }) };
  const backend = new EnvBackend({ env: { USER: 'root-value', ...postgresServiceLinks, POSTGRES_PASSWORD: 'pw' }, log });
  await backend.fetch({ kind: 'value', path: 'database/postgres/user' });
  await backend.fetch({ kind: 'map', path: 'database/postgres' });
  const named = lines.map((line) => line.fields['variable']);
  t.deepEqual(named, ['USER', ...Object.keys(postgresServiceLinks)]);
  t.false(JSON.stringify(lines).includes('root-value'));
  t.false(JSON.stringify(lines).includes('10.96.0.12'));
});

test('isProcessVariable: every name the OS, shell and container runtime set', (t) => {
  for (const name of ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'OLDPWD', 'HOSTNAME', 'HOST', 'TERM', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'SHLVL', 'MAIL', '_']) {
    t.true(isProcessVariable(name, {}), name);
  }
  for (const name of ['PATHS', 'USER_NAME', 'DB_USER', 'API_KEY', 'PORT', 'SECRET_KEY', '__']) t.false(isProcessVariable(name, {}), name);
});

test('isProcessVariable: the LC_, NODE_, npm_ and KUBERNETES_ prefixes', (t) => {
  for (const name of ['LC_ALL', 'LC_CTYPE', 'NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'npm_config_cache', 'npm_package_name', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_PORT_443_TCP_ADDR']) {
    t.true(isProcessVariable(name, {}), name);
  }
  // The bare words and the upper-case NPM_ (an operator's `npm/token` is NPM_TOKEN) are not on the list.
  for (const name of ['LC', 'NODE', 'NPM_TOKEN', 'KUBERNETES', 'MY_NODE_ENV']) t.false(isProcessVariable(name, {}), name);
});

test('isProcessVariable: service-link forms only while <S>_SERVICE_HOST is set', (t) => {
  const links = ['POSTGRES_SERVICE_HOST', 'POSTGRES_SERVICE_PORT', 'POSTGRES_SERVICE_PORT_SQL', 'POSTGRES_PORT', 'POSTGRES_PORT_5432_TCP', 'POSTGRES_PORT_5432_TCP_PROTO', 'POSTGRES_PORT_5432_TCP_PORT', 'POSTGRES_PORT_5432_TCP_ADDR', 'POSTGRES_PORT_53_UDP', 'POSTGRES_PORT_9_SCTP_ADDR'];
  for (const name of links) t.true(isProcessVariable(name, { POSTGRES_SERVICE_HOST: '10.96.0.12' }), name);
  for (const name of links.slice(1)) t.false(isProcessVariable(name, {}), `${name} without POSTGRES_SERVICE_HOST`);
  for (const name of links.slice(1)) t.false(isProcessVariable(name, { OTHER_SERVICE_HOST: '10.96.0.13' }), `${name} with another Service`);
  // A Service name with underscores (`my-db` → MY_DB), and names that only look like links.
  t.true(isProcessVariable('MY_DB_PORT_5432_TCP_ADDR', { MY_DB_SERVICE_HOST: '10.96.0.14' }));
  t.false(isProcessVariable('DB_PORT', { MY_DB_SERVICE_HOST: '10.96.0.14' }));
  for (const name of ['POSTGRES_PORTAL', 'POSTGRES_PORT_X_TCP', 'POSTGRES_PORT_5432', 'POSTGRES_PORT_5432_HTTP', 'POSTGRES_PASSWORD', 'POSTGRES_SERVICE_HOSTS']) {
    t.false(isProcessVariable(name, { POSTGRES_SERVICE_HOST: '10.96.0.12' }), name);
  }
});
