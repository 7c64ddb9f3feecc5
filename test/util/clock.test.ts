// The real clock's timers (agent/util/clock.ts): Node runs a setTimeout longer than 2^31 - 1 ms after 1 ms, so a
// lease, token or certificate timer of 25 days or more would fire at once, over and over.
import test from 'ava';
import { MAX_TIMER_MS, systemClock } from '../../agent/util/clock.js';

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a timer beyond 2^31 - 1 ms does not fire early (a 1-year certificate, a 32-day token)', async (t) => {
  let fired = 0;
  const handles = [MAX_TIMER_MS + 1, 32 * 86_400_000, 365 * 86_400_000].map((ms) => systemClock.setTimeout(() => fired++, ms));
  // Unfixed, each fires after 1 ms; 2 s is far beyond that on any machine.
  await wait(2000);
  for (const handle of handles) handle.cancel();
  t.is(fired, 0);
});

test('short timers still fire, and cancel stops them', async (t) => {
  const order: string[] = [];
  systemClock.setTimeout(() => order.push('fired'), 10);
  const cancelled = systemClock.setTimeout(() => order.push('cancelled'), 20);
  cancelled.cancel();
  await systemClock.sleep(200);
  t.deepEqual(order, ['fired']);
});
