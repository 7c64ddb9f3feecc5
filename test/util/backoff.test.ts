import test from 'ava';
import { backoffDelay } from '../../agent/util/backoff.js';

const policy = { min: 250, max: 60_000 };

test('the cap doubles per attempt up to max, and the delay is random below it', (t) => {
  t.is(backoffDelay(policy, 0, () => 0.999999), 250, 'the first retry waits min');
  t.is(backoffDelay(policy, 1, () => 0.9), 450);
  t.is(backoffDelay(policy, 3, () => 0.5), 1000);
  t.is(backoffDelay(policy, 20, () => 0.5), 30_000);
  t.is(backoffDelay(policy, 2000, () => 0.999999), 59_999);
});

test('the delay never falls below min', (t) => {
  t.is(backoffDelay(policy, 5, () => 0), 250);
});
