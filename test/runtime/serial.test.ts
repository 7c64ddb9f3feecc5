import test from 'ava';
import { SerialRunner } from '../../agent/runtime/serial.js';

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
