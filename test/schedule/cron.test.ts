import test from 'ava';
import { nodeCronFactory, splayDelay, startSchedule } from '../../agent/schedule/cron.js';
import { FakeClock, sequence } from '../helpers/fake-clock.js';

test('each scheduled run waits a uniform random splay before it fires', async (t) => {
  const clock = new FakeClock();
  let tick = (): void => undefined;
  const runs: number[] = [];
  const schedule = startSchedule({
    expression: '*/5 * * * *',
    splayMs: 30_000,
    clock,
    random: sequence(0.5, 0.1),
    onRun: () => runs.push(clock.now()),
    cronFactory: (_expression, fire) => {
      tick = fire;
      return { stop: () => undefined };
    },
  });
  const start = clock.now();
  tick();
  t.deepEqual(clock.pendingDelays, [15_000]);
  await clock.advance(14_999);
  t.deepEqual(runs, []);
  await clock.advance(1);
  t.deepEqual(runs, [start + 15_000]);
  tick();
  await clock.advance(3_000);
  t.deepEqual(runs, [start + 15_000, start + 18_000]);
  schedule.stop();
});

test('stopping cancels runs still waiting out their splay', async (t) => {
  const clock = new FakeClock();
  let tick = (): void => undefined;
  let runs = 0;
  const schedule = startSchedule({ expression: '* * * * *', splayMs: 1000, clock, random: () => 0.5, onRun: () => runs++, cronFactory: (_e, fire) => ((tick = fire), { stop: () => undefined }) });
  tick();
  schedule.stop();
  await clock.advance(5000);
  t.is(runs, 0);
});

test('splay 0 runs at once', (t) => {
  t.is(splayDelay(0, () => 0.9), 0);
  t.is(splayDelay(1000, () => 0.999), 999);
});

test('the real node-cron task fires on a six-field schedule and stops', async (t) => {
  let fired = 0;
  const task = nodeCronFactory('* * * * * *', () => fired++);
  // Waits for the event (a loaded machine may be late), within a generous bound.
  for (const deadline = Date.now() + 20_000; fired === 0 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
  task.stop();
  const seen = fired;
  t.true(seen >= 1, 'the every-second schedule fired');
  // Absence can only be watched for: 2.5 s is more than two periods of the stopped schedule.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  t.is(fired, seen);
});
