// The policy labels (agent/rotation/policy.ts): what a custom_metadata map or tag set means, and the map a policy
// writes (null removes a policy key a merge would otherwise keep).
import test from 'ava';
import { DurationError } from '../../agent/config/duration.js';
import { makePolicy, policyEntries, readPolicy } from '../../agent/rotation/policy.js';

test('no rotation-period is no policy; other labels are ignored', (t) => {
  t.deepEqual(readPolicy(null), { policy: undefined });
  t.deepEqual(readPolicy({ owner: 'ops', 'rotation-auto': 'true' }), { policy: undefined });
});

test('a full policy reads back; auto holds only for a generated secret', (t) => {
  t.deepEqual(readPolicy({ 'rotation-period': '30d', 'rotation-generate': '50', 'rotation-charset': 'hex', 'rotation-auto': 'true', 'rotation-key': 'secret_key' }), {
    policy: { period: '30d', periodMs: 30 * 86_400_000, generate: 50, charset: 'hex', auto: true, key: 'secret_key' },
  });
  t.like(readPolicy({ 'rotation-period': '90d', 'rotation-auto': 'true' }), { policy: { auto: false } });
});

test('a malformed label is a problem naming the label, never its value', (t) => {
  const cases: Record<string, string>[] = [
    { 'rotation-period': 'quarterly' },
    { 'rotation-period': '0' },
    { 'rotation-period': '30d', 'rotation-generate': '8' },
    { 'rotation-period': '30d', 'rotation-charset': 'emoji' },
    { 'rotation-period': '30d', 'rotation-auto': 'yes' },
  ];
  const problems = cases.map((labels) => { const reading = readPolicy(labels); return 'problem' in reading ? reading.problem : ''; });
  t.deepEqual(problems.map((problem) => problem.split(':')[0]), ['rotation-period', 'rotation-period', 'rotation-generate', 'rotation-charset', 'rotation-auto']);
  t.false(problems.some((problem) => /quarterly|emoji|yes/.test(problem)));
});

test('a policy writes every policy key: null for those it leaves out; periods are normalised', (t) => {
  t.deepEqual(policyEntries(makePolicy({ period: '2160h', key: 'api_key' })), { 'rotation-period': '90d', 'rotation-generate': null, 'rotation-charset': null, 'rotation-auto': null, 'rotation-key': 'api_key' });
  t.deepEqual(policyEntries(makePolicy({ period: 7, generate: 32, auto: true })), { 'rotation-period': '7d', 'rotation-generate': '32', 'rotation-charset': null, 'rotation-auto': 'true', 'rotation-key': null });
});

test('rotation-key must be one key of the secret: no "/", no "." or "..", only key characters', (t) => {
  for (const key of ['other/password', '../x', '..', '.', 'a b', 'x/']) {
    const reading = readPolicy({ 'rotation-period': '30d', 'rotation-key': key });
    t.true('problem' in reading && reading.problem.startsWith('rotation-key'), key);
  }
  t.like(readPolicy({ 'rotation-period': '30d', 'rotation-key': 'secret_key.v-2' }), { policy: { key: 'secret_key.v-2' } });
});

test('a period past any date is refused: its due time would be an Invalid Date, and audit and rotate throw on it', (t) => {
  const reading = readPolicy({ 'rotation-period': '104000000d' });
  t.true('problem' in reading && reading.problem.startsWith('rotation-period'));
  t.throws(() => makePolicy({ period: '104000000d' }), { instanceOf: DurationError });
  t.throws(() => makePolicy({ period: 1e12 }), { instanceOf: DurationError });
  t.like(readPolicy({ 'rotation-period': '36500d' }), { policy: { period: '36500d' } });
});
