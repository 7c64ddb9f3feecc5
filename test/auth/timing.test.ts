import test from 'ava';
import { renewDelay, retryDelay } from '../../agent/backends/vault/auth/timing.js';

test('renewal is due at 2/3 of the TTL minus up to 10% of that, exactly', (t) => {
  t.is(renewDelay(3, () => 0), 1800);
  t.is(renewDelay(3, () => 0.5), 1900);
  t.is(renewDelay(3, () => 0.999), 1999);
  t.is(renewDelay(3600, () => 0), 2_160_000);
  t.is(renewDelay(3600, () => 0.999_999_9), 2_399_999);
  t.is(renewDelay(0.5, () => 0), 300);
});

test('jitter never moves renewal later than 2/3 of the TTL nor earlier than 60%', (t) => {
  for (let i = 0; i <= 1000; i++) {
    const r = Math.min(i / 1000, 0.999_999);
    const delay = renewDelay(45, () => r);
    t.true(delay >= 27_000 && delay < 30_000, `random ${r} gave ${delay}`);
  }
});

test('retries back off from 0.5-1 s, doubling, to at most 30 s', (t) => {
  t.deepEqual([0, 1, 2, 3, 4, 5, 6, 40].map((attempt) => retryDelay(attempt, () => 0)), [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
  t.deepEqual([0, 1, 5, 40].map((attempt) => retryDelay(attempt, () => 0.999_999)), [999, 1999, 29_999, 29_999]);
});
