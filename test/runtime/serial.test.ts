import test from 'ava';
import { SerialRunner } from '../../agent/runtime/serial.js';
import { FakeClock, flush } from '../helpers/fake-clock.js';

test('a burst of 50 triggers during a cycle makes exactly one follow-up, and cycles never overlap', async (t) => {
  let active = 0;
  let maxActive = 0;
  const runs: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const runner = new SerialRunner(async (reasons) => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs.push(reasons);
    if (runs.length === 1) await gate;
    await new Promise((resolve) => setImmediate(resolve));
    active--;
  });
  runner.trigger('start');
  for (let i = 0; i < 50; i++) runner.trigger(i % 2 === 0 ? 'schedule' : 'watch');
  release();
  await runner.idle();
  t.is(maxActive, 1);
  t.deepEqual(runs, [['start'], ['schedule', 'watch']]);
});

test('a trigger while idle starts a run at once', async (t) => {
  let count = 0;
  const runner = new SerialRunner(() => {
    count++;
    return Promise.resolve();
  });
  runner.trigger('a');
  t.true(runner.busy);
  await runner.idle();
  runner.trigger('b');
  await runner.idle();
  t.is(count, 2);
  t.false(runner.busy);
});

test('a failing run does not stop later runs', async (t) => {
  let count = 0;
  const runner = new SerialRunner(() => {
    count++;
    return count === 1 ? Promise.reject(new Error('boom')) : Promise.resolve();
  });
  runner.trigger('a');
  runner.trigger('b');
  await runner.idle();
  t.is(count, 2);
});

/** A runner whose runs take one tick, recording when each started on the fake clock. */
function timedRunner(clock: FakeClock): { runner: SerialRunner; starts: Array<{ at: number; reasons: string[] }> } {
  const starts: Array<{ at: number; reasons: string[] }> = [];
  const runner = new SerialRunner(async (reasons) => {
    starts.push({ at: clock.now(), reasons });
    await new Promise((resolve) => setImmediate(resolve));
  }, { clock, minIntervalMs: 1000 });
  return { runner, starts };
}

test('2,000 refresh requests in 1.3 s start at most one cycle per second; the rest join the next', async (t) => {
  const clock = new FakeClock();
  const { runner, starts } = timedRunner(clock);
  const t0 = clock.now();
  for (let i = 0; i < 2000; i++) {
    runner.request(i % 2 === 0 ? 'http' : 'SIGUSR1');
    if (i % 3 === 0) await clock.advance(2);
    else await flush();
  }
  await clock.advance(2000);
  await runner.idle();
  t.deepEqual(starts.map((start) => start.at - t0), [0, 1000, 2000]);
  t.deepEqual(starts[1]?.reasons, ['SIGUSR1', 'http']);
});

test('a refresh right after a cycle waits for the interval; a scheduled trigger never waits', async (t) => {
  const clock = new FakeClock();
  const { runner, starts } = timedRunner(clock);
  runner.trigger('start');
  await runner.idle();
  runner.request('http');
  await flush();
  t.is(starts.length, 1, 'the refresh waits');
  t.deepEqual(clock.pendingDelays, [1000]);
  await clock.advance(400);
  runner.trigger('schedule');
  await runner.idle();
  t.deepEqual(starts.map((start) => start.reasons), [['start'], ['http', 'schedule']], 'the scheduled cycle takes the refresh along, at once');
  t.deepEqual(clock.pendingDelays, [], 'no refresh cycle is left waiting');
});

test('stop drops a waiting refresh', async (t) => {
  const clock = new FakeClock();
  const { runner, starts } = timedRunner(clock);
  runner.request('http');
  await runner.idle();
  runner.request('http');
  runner.stop();
  await clock.advance(5000);
  t.is(starts.length, 1);
  runner.trigger('schedule');
  await flush();
  t.is(starts.length, 1, 'a stopped runner starts nothing');
});
