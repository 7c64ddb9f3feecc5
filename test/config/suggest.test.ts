import test from 'ava';
import { closest, editDistance } from '../../agent/config/suggest.js';

test('editDistance is the Levenshtein distance', (t) => {
  t.is(editDistance('', ''), 0);
  t.is(editDistance('adress', 'address'), 1);
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('abc', ''), 3);
  t.is(editDistance('flaw', 'lawn'), 2);
});

test('closest suggests a near key, ignoring case, "_" and "-", and nothing when all are far', (t) => {
  const keys = ['address', 'namespace', 'mount', 'kvVersion', 'tlsSkipVerify', 'timeout', 'auth'];
  t.is(closest('adress', keys), 'address');
  t.is(closest('tls_skip_verify', keys), 'tlsSkipVerify');
  t.is(closest('kv-version', keys), 'kvVersion');
  t.is(closest('timout', keys), 'timeout');
  t.is(closest('colour', keys), undefined);
  t.is(closest('x', keys), undefined);
});
