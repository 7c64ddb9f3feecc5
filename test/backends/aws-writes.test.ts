// The writes behind rotate and migrate, and the metadata behind audit, through the real SDK client.
import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { created, fixture, onEmulator } from './aws/harness.js';
import { withoutMeta } from './outcome.js';

test('putValue merges one key into a JSON secret as a new AWSCURRENT version, keeping the other keys', async (t) => {
  const f = await fixture(t);
  const before = await f.seed('exchange/binance', { api_key: 'old-key', api_secret: 's', testnet: true });
  const backend = f.backend();
  const { version } = await backend.putValue('exchange/binance/api_key', 'new-key');
  t.not(version, before.versionId);
  t.deepEqual(withoutMeta(await backend.fetch({ kind: 'map', path: 'exchange/binance' })), { status: 'found', data: { api_key: 'new-key', api_secret: 's', testnet: 'true' }, version });
  t.like(await f.backend({ versionStage: 'AWSPREVIOUS' }).fetch({ kind: 'value', path: 'exchange/binance/api_key' }), { status: 'found', data: 'old-key', version: before.versionId });
  t.is(f.calls['PutSecretValue'], 1);
  t.is(f.calls['DescribeSecret'], 1, 'the version read is checked before writing');
  if (f.emulator) t.deepEqual(JSON.parse(String(f.emulator.versions('dsta/exchange/binance').find((v) => v.id === version)?.value)), { api_key: 'new-key', api_secret: 's', testnet: true }, 'non-string values keep their JSON type');
});

test('putValue adds a key the JSON secret does not have yet', async (t) => {
  const f = await fixture(t);
  await f.seed('app', { secret_key: 'a' });
  await f.backend().putValue('app/jwt_key', 'j');
  t.like(await f.backend().fetch({ kind: 'map', path: 'app' }), { data: { secret_key: 'a', jwt_key: 'j' } });
});

test('putValue replaces a plain secret whole when no JSON secret exists', async (t) => {
  const f = await fixture(t);
  const before = await f.seed('monitoring/sentry_dsn', 'old-dsn');
  const { version } = await f.backend().putValue('monitoring/sentry_dsn', 'new-dsn');
  t.not(version, before.versionId);
  t.deepEqual(withoutMeta(await f.backend().fetch({ kind: 'value', path: 'monitoring/sentry_dsn' })), { status: 'found', data: 'new-dsn', version });
  t.is(f.calls['DescribeSecret'], undefined, 'a whole replacement has nothing to merge, so nothing to check');
});

test('putValue on a path with no secret at all fails, naming both candidates, and creates nothing', async (t) => {
  const f = await fixture(t);
  const error = await t.throwsAsync(f.backend().putValue('database/postgres/password', 'pw'));
  t.true(isAgentError(error, 'ERR_SECRET_NOT_FOUND'));
  t.is(error.message, `aws backend: neither the JSON secret "${f.prefix}database/postgres" nor the plain secret "${f.prefix}database/postgres/password" exists in ${f.region}; rotate writes new versions of existing secrets - create it first (migrate)`);
  t.is(f.calls['CreateSecret'], undefined);
});

test('putValue fails with ERR_CAS_CONFLICT and writes nothing when the secret changed after it was read', async (t) => {
  const f = await fixture(t);
  await f.seed('exchange/binance', { api_key: 'k0', api_secret: 's0' });
  let raced = false;
  f.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'DescribeSecretCommand' && !raced) {
      raced = true;
      await f.seed('exchange/binance', { api_key: 'k0', api_secret: 'someone-else' });
    }
    return next(args);
  }, { step: 'initialize', name: 'raceAWriter' });
  const error = await t.throwsAsync(f.backend().putValue('exchange/binance/api_key', 'k1'));
  t.true(isAgentError(error, 'ERR_CAS_CONFLICT'));
  t.regex(error.message, /secret "dsta\/.*exchange\/binance" in .* changed while it was being updated \(AWSCURRENT moved from version .* to .*\); nothing was written/);
  t.is(f.calls['PutSecretValue'], undefined);
  t.like(await f.backend().fetch({ kind: 'map', path: 'exchange/binance' }), { data: { api_key: 'k0', api_secret: 'someone-else' } });
});

test('createSecret creates a JSON secret under the prefix', async (t) => {
  const f = await fixture(t);
  created(t, f, 'database/postgres');
  const { version, changed } = await f.backend().createSecret('database/postgres', { user: 'app', password: 'pw' });
  t.true(changed);
  t.deepEqual(withoutMeta(await f.backend().fetch({ kind: 'map', path: 'database/postgres' })), { status: 'found', data: { user: 'app', password: 'pw' }, version });
});

test('createSecret on an existing secret is a conflict that writes nothing, unless merge is asked for', async (t) => {
  const f = await fixture(t);
  const seeded = await f.seed('app', { secret_key: 'keep', debug: 'false' });
  const backend = f.backend();
  const error = await t.throwsAsync(backend.createSecret('app', { secret_key: 'overwrite?' }));
  t.true(isAgentError(error, 'ERR_CAS_CONFLICT'));
  t.is(error.message, `aws backend: secret "${f.prefix}app" in ${f.region} already exists; nothing was written - merge the keys into it instead, or delete it first`);
  t.is(f.calls['PutSecretValue'], undefined);
  const merged = await backend.createSecret('app', { debug: 'true', extra: 'x' }, { merge: true });
  t.true(merged.changed);
  t.not(merged.version, seeded.versionId);
  t.like(await backend.fetch({ kind: 'map', path: 'app' }), { data: { secret_key: 'keep', debug: 'true', extra: 'x' } });
  const again = await backend.createSecret('app', { debug: 'true', extra: 'x' }, { merge: true });
  t.deepEqual(again, { version: merged.version, changed: false }, 'a second identical merge writes nothing');
  t.is(f.calls['PutSecretValue'], 1);
});

test('describe reports last change, last rotation and the current version of the JSON secret, else the plain one', async (t) => {
  const f = await fixture(t);
  const rotated = new Date('2024-03-01T12:00:00.250Z');
  const started = Date.now();
  const json = await f.seed('exchange/binance', { api_key: 'k' });
  if (f.emulator) f.emulator.putSecret('dsta/exchange/binance', { api_key: 'k' }, { stages: ['AWSPENDING'], lastRotated: rotated });
  const plain = await f.seed('monitoring/sentry_dsn', 'dsn');
  const backend = f.backend();
  const described = await backend.describe('exchange/binance/api_key');
  t.is(described?.secretId, `${f.prefix}exchange/binance`);
  t.is(described?.version, json.versionId, 'the version carrying AWSCURRENT, not AWSPENDING');
  t.true(described?.lastChanged instanceof Date && described.lastChanged.getTime() >= started - 5_000);
  if (onEmulator) t.deepEqual(described?.lastRotated, rotated, 'fractional epoch seconds keep their milliseconds');
  t.like(await backend.describe('monitoring/sentry_dsn'), { secretId: `${f.prefix}monitoring/sentry_dsn`, version: plain.versionId });
  t.like(await backend.describe('exchange/binance', { kind: 'map' }), { secretId: `${f.prefix}exchange/binance` });
  t.is(await backend.describe('database/postgres/password'), undefined);
});

test('writes refuse a path that is not a valid secret path before calling AWS', async (t) => {
  const f = await fixture(t);
  await t.throwsAsync(f.backend().putValue('../etc/passwd', 'x'), { message: /invalid secret path "..\/etc\/passwd": the path has a "." or ".." segment/ });
  await t.throwsAsync(f.backend().createSecret('a b', { k: 'v' }), { message: /invalid secret name "a b"/ });
  t.deepEqual(f.calls, {});
});
