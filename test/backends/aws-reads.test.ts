// Reading through the real SDK client: path layout (JSON secret by key, plain secret as fallback, maps),
// prefix, version stage, binary secrets, and the data errors that name the secret and never its value.
import test from 'ava';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { isAgentError } from '../../agent/errors.js';
import { seedDsta } from '../fakes/aws/seed.js';
import { emulated, fixture, onEmulator } from './aws/harness.js';
import { withoutMeta, errorOf } from './outcome.js';

test('a value path reads its key from the JSON secret named by the rest of the path', async (t) => {
  const f = await fixture(t);
  const { versionId } = await f.seed('exchange/binance', { api_key: 'k-123', api_secret: 's-456' });
  const outcome = await f.backend().fetch({ kind: 'value', path: 'exchange/binance/api_key' });
  t.deepEqual(withoutMeta(outcome), { status: 'found', data: 'k-123', version: versionId });
  t.is(f.calls['GetSecretValue'], 1, 'a single secret is read with GetSecretValue');
  t.is(f.calls['BatchGetSecretValue'], undefined);
});

test('a read names the SecretId it read and the CreatedDate of the version it returned, single and batched', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/binance', { api_key: 'k-123' });
  await f.seed('exchange/kraken', { api_key: 'k-456' });
  const created = async (id: string): Promise<string | undefined> => (await f.client.send(new GetSecretValueCommand({ SecretId: id }))).CreatedDate?.toISOString();
  const single = await f.backend().fetch({ kind: 'value', path: 'exchange/binance/api_key' });
  t.deepEqual(single.status === 'found' ? single.meta : undefined, { secret: `${f.prefix}exchange/binance`, createdAt: await created(`${f.prefix}exchange/binance`) });
  const batched = await f.backend().fetchMany([{ kind: 'value', path: 'exchange/binance/api_key' }, { kind: 'map', path: 'exchange/kraken' }]);
  const kraken = batched.get('map:exchange/kraken');
  t.deepEqual(kraken?.status === 'found' ? kraken.meta : undefined, { secret: `${f.prefix}exchange/kraken`, createdAt: await created(`${f.prefix}exchange/kraken`) });
  t.regex(String(kraken?.status === 'found' ? kraken.meta?.createdAt : ''), /^\d{4}-\d\d-\d\dT/);
});

test('when the JSON secret does not exist the plain secret named by the whole path holds the value', async (t) => {
  const f = await fixture(t);
  const { versionId } = await f.seed('monitoring/sentry_dsn', 'https://key@sentry.example/1');
  const outcome = await f.backend().fetch({ kind: 'value', path: 'monitoring/sentry_dsn' });
  t.deepEqual(withoutMeta(outcome), { status: 'found', data: 'https://key@sentry.example/1', version: versionId });
  t.is(f.calls['GetSecretValue'], 2, 'the JSON secret "dsta/monitoring" first, then the plain secret');
});

test('a JSON secret wins over a plain secret of the same path, and a missing key is not found without falling back', async (t) => {
  const f = await fixture(t);
  await f.seed('app', { secret_key: 'from-json' });
  await f.seed('app/secret_key', 'from-plain');
  await f.seed('app/other', 'plain-other');
  const backend = f.backend();
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'from-json' });
  const missing = await backend.fetch({ kind: 'value', path: 'app/other' });
  t.deepEqual(missing, { status: 'not_found', reason: `secret "${f.prefix}app" in ${f.region} has no key "other"` });
});

test('a path found nowhere is not found, naming both secrets it looked for and the region', async (t) => {
  const f = await fixture(t);
  const outcome = await f.backend().fetch({ kind: 'value', path: 'database/postgres/password' });
  t.deepEqual(outcome, { status: 'not_found', reason: `neither the JSON secret "${f.prefix}database/postgres" nor the plain secret "${f.prefix}database/postgres/password" exists in ${f.region}` });
});

test('a map path returns every key of the JSON secret, non-string values as their JSON text', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/kraken', { api_key: 'k', testnet: true, port: 5432, extra: null, nested: { a: [1, 'b'] } });
  const outcome = await f.backend().fetch({ kind: 'map', path: 'exchange/kraken' });
  t.like(outcome, { status: 'found', data: { api_key: 'k', testnet: 'true', port: '5432', extra: 'null', nested: '{"a":[1,"b"]}' } });
  t.like(await f.backend().fetch({ kind: 'value', path: 'exchange/kraken/port' }), { status: 'found', data: '5432' });
});

test('a map path whose secret does not exist is not found, with no plain fallback', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/ftx/api_key', 'plain');
  const outcome = await f.backend().fetch({ kind: 'map', path: 'exchange/ftx' });
  t.deepEqual(outcome, { status: 'not_found', reason: `secret "${f.prefix}exchange/ftx" does not exist in ${f.region}` });
});

test('a one-segment path can only be a plain secret', async (t) => {
  const f = await fixture(t);
  await f.seed('standalone', 'alone');
  t.like(await f.backend().fetch({ kind: 'value', path: 'standalone' }), { status: 'found', data: 'alone' });
  t.is(f.calls['GetSecretValue'], 1);
});

test('the prefix is prepended to every secret name, so unprefixed secrets are invisible', async (t) => {
  const f = await fixture(t);
  await f.seed('app', { secret_key: 'prefixed' });
  t.like(await f.backend().fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'prefixed' });
  const unprefixed = await f.backend({ prefix: '' }).fetch({ kind: 'value', path: 'app/secret_key' });
  t.is(unprefixed.status, 'not_found');
  if (onEmulator) t.is(f.prefix, 'dsta/', 'the emulator runs with the seed\'s own prefix');
});

test('the configured version stage is read, and the outcome version is that VersionId', async (t) => {
  const f = await fixture(t);
  const first = await f.seed('database/postgres', { password: 'old-pw' });
  const second = await f.seed('database/postgres', { password: 'new-pw' });
  const ref = { kind: 'value', path: 'database/postgres/password' } as const;
  t.deepEqual(withoutMeta(await f.backend().fetch(ref)), { status: 'found', data: 'new-pw', version: second.versionId });
  t.deepEqual(withoutMeta(await f.backend({ versionStage: 'AWSPREVIOUS' }).fetch(ref)), { status: 'found', data: 'old-pw', version: first.versionId });
  const pending = await f.backend({ versionStage: 'AWSPENDING' }).fetch(ref);
  t.is(pending.status, 'not_found', 'a stage no version carries is not found');
});

test('a binary secret that is UTF-8 text is read as text, JSON included', async (t) => {
  const f = await fixture(t);
  await f.seed('certs/api', new TextEncoder().encode('{"pem":"-----BEGIN CERT-----\\nÄbc\\n"}'));
  await f.seed('certs/plain', new TextEncoder().encode('plain ünïcode'));
  t.like(await f.backend().fetch({ kind: 'value', path: 'certs/api/pem' }), { status: 'found', data: '-----BEGIN CERT-----\nÄbc\n' });
  t.like(await f.backend().fetch({ kind: 'value', path: 'certs/plain' }), { status: 'found', data: 'plain ünïcode' });
});

test('a binary secret that is not UTF-8 is a data error that says so', async (t) => {
  const f = await fixture(t);
  await f.seed('certs/der', new Uint8Array([0x30, 0x82, 0xff, 0xfe, 0x00]));
  const error = await errorOf(f.backend().fetch({ kind: 'value', path: 'certs/der' }));
  t.true(isAgentError(error, 'ERR_BACKEND_DATA'));
  t.is(error.message, `aws backend: secret "${f.prefix}certs/der" in ${f.region} holds SecretBinary (5 bytes) that is not valid UTF-8 text, so it cannot be rendered; store text in SecretString (base64-encode binary data and use the base64Decode helper)`);
});

test('a JSON secret that is not an object is a data error naming the secret and the plain alternative', async (t) => {
  const f = await fixture(t);
  await f.seed('notifications', 'hunter2-not-json');
  await f.seed('lists', '["a","b"]');
  const error = await errorOf(f.backend().fetch({ kind: 'value', path: 'notifications/slack_webhook_url' }));
  t.true(isAgentError(error, 'ERR_BACKEND_DATA'));
  t.regex(error.message, /secret "dsta\/.*notifications" in .* is not a JSON object, so key "slack_webhook_url" cannot be read from it; .* as secret "dsta\/.*notifications\/slack_webhook_url"/);
  t.false((error.message).includes('hunter2'));
  const map = await errorOf(f.backend().fetch({ kind: 'map', path: 'lists' }));
  t.regex(map.message, /is not a JSON object, so it cannot be read as a map of keys/);
});

test('a key named __proto__ is data, never a prototype', async (t) => {
  const f = await fixture(t);
  await f.seed('odd', '{"__proto__":"p","constructor":"c"}');
  const outcome = await f.backend().fetch({ kind: 'map', path: 'odd' });
  t.is(outcome.status, 'found');
  const data = outcome.status === 'found' ? outcome.data : {};
  t.deepEqual(Object.entries(data), [['__proto__', 'p'], ['constructor', 'c']]);
  t.like(await f.backend().fetch({ kind: 'value', path: 'odd/toString' }), { status: 'not_found' });
});

(onEmulator ? test : test.skip)('the seed\'s dsta/ layout serves every DSTA path in one cycle, JSON and plain secrets alike', async (t) => {
  const f = await fixture(t);
  seedDsta(emulated(f));
  const paths = ['exchange/binance/api_key', 'exchange/binance/testnet', 'exchange/gateio/api_secret', 'database/postgres/port', 'database/redis/password', 'app/secret_key', 'monitoring/sentry_dsn', 'notifications/slack_webhook_url'];
  const outcomes = await f.backend().fetchMany([...paths.map((path) => ({ kind: 'value', path }) as const), { kind: 'map', path: 'exchange/binance' }]);
  t.deepEqual(paths.map((path) => outcomes.get(`value:${path}`)?.status), paths.map(() => 'found'));
  t.like(outcomes.get('value:database/postgres/port'), { data: '5432' });
  t.like(outcomes.get('value:monitoring/sentry_dsn'), { data: 'https://FAKEPUBLICKEY@sentry.example.invalid/1' });
  t.like(outcomes.get('map:exchange/binance'), { data: { testnet: 'true' } });
  t.deepEqual(f.calls, { BatchGetSecretValue: 2 }, 'five JSON secrets and two plain fallbacks, all batched');
});
