// The dispatcher: `wait` quiescence maths on a FakeClock, runs that never overlap, failures that stop nothing.
import test from 'ava';
import { isAgentError } from '../../agent/errors.js';
import { NotifyDispatcher } from '../../agent/notify/dispatcher.js';
import type { NotifierRunner, NotifyDispatcherOptions, NotifyResult } from '../../agent/notify/dispatcher.js';
import type { NotifierConfig } from '../../agent/notify/run.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { captureLog } from './helpers.js';

const notifiers: Record<string, NotifierConfig> = {
  app: { signal: 'SIGHUP', process: 'app', all: false },
  nginx: { command: ['nginx', '-s', 'reload'], timeout: 30_000 },
  hook: { http: { url: 'http://127.0.0.1:1/reload', method: 'POST', headers: {} }, timeout: 5_000 },
  mark: { touch: '/secrets/.changed' },
};

/** A dispatcher on a FakeClock at 0 whose runner records which notifier ran when, instead of running it. */
function setup(wait: { min: number; max: number }, extra: Partial<NotifyDispatcherOptions> = {}) {
  const clock = new FakeClock(0);
  const runs: string[] = [];
  const runner: NotifierRunner = (name) => {
    runs.push(`${name}@${clock.now()}`);
    return Promise.resolve({});
  };
  const captured = captureLog();
  const dispatcher = new NotifyDispatcher({ notifiers, wait, log: captured.log, clock, secretValues: () => [], runner, ...extra });
  return { clock, runs, dispatcher, captured };
}

const change = (template: string, ...notify: string[]) => ({ template, notify });
const names = (results: readonly NotifyResult[]) => results.map((result) => `${result.notifier}:${result.result}`);

test('with wait 0s/0s each call runs its notifiers at once, each once, however many templates name them', async (t) => {
  const { runs, dispatcher } = setup({ min: 0, max: 0 });
  t.deepEqual(names(await dispatcher.notify([change('a.hbs', 'app', 'mark'), change('b.hbs', 'mark', 'app')])), ['app:success', 'mark:success']);
  t.deepEqual(runs, ['app@0', 'mark@0']);
  await dispatcher.notify([change('a.hbs', 'app')]);
  t.deepEqual(runs, ['app@0', 'mark@0', 'app@0']);
});

test('no changed template, or templates naming no notifier, runs nothing and starts no timer', async (t) => {
  const { clock, runs, dispatcher } = setup({ min: 2_000, max: 10_000 });
  t.deepEqual(await dispatcher.notify([]), []);
  t.deepEqual(await dispatcher.notify([change('a.hbs')]), []);
  t.deepEqual(clock.pendingDelays, []);
  t.deepEqual(runs, []);
});

test('a burst of changes within min of each other is one run, exactly min after the last change', async (t) => {
  const { clock, runs, dispatcher } = setup({ min: 2_000, max: 10_000 });
  const first = dispatcher.notify([change('a.hbs', 'app')]);
  await clock.advance(1_000);
  const second = dispatcher.notify([change('b.hbs', 'app', 'nginx')]);
  await clock.advance(1_000);
  const third = dispatcher.notify([change('c.hbs', 'mark')]);
  await clock.advance(1_999);
  t.deepEqual(runs, []);
  await clock.advance(1);
  t.deepEqual(runs, ['app@4000', 'nginx@4000', 'mark@4000']);
  t.deepEqual(names(await first), ['app:success']);
  t.deepEqual(names(await second), ['app:success', 'nginx:success']);
  t.deepEqual(names(await third), ['mark:success']);
});

test('a burst that never goes quiet runs at exactly max after its first change, and later changes start a new burst', async (t) => {
  const { clock, runs, dispatcher } = setup({ min: 2_000, max: 5_000 });
  for (let i = 0; i < 5; i++) {
    void dispatcher.notify([change('a.hbs', 'app')]); // t = 0, 1000, 2000, 3000, 4000
    await clock.advance(i < 4 ? 1_000 : 999);
  }
  t.deepEqual(runs, []);
  await clock.advance(1);
  t.deepEqual(runs, ['app@5000']);
  await clock.advance(500);
  void dispatcher.notify([change('a.hbs', 'app')]);
  await clock.advance(1_999);
  t.deepEqual(runs, ['app@5000']);
  await clock.advance(1);
  t.deepEqual(runs, ['app@5000', 'app@7500']);
});

test('with min equal to max a second change does not push the run past max', async (t) => {
  const { clock, runs, dispatcher } = setup({ min: 3_000, max: 3_000 });
  void dispatcher.notify([change('a.hbs', 'hook')]);
  await clock.advance(2_000);
  void dispatcher.notify([change('b.hbs', 'hook')]);
  t.deepEqual(clock.pendingDelays, [1_000]);
  await clock.advance(1_000);
  t.deepEqual(runs, ['hook@3000']);
});

test('a run that falls due while another is still running starts only when that one has finished', async (t) => {
  const clock = new FakeClock(0);
  const started: string[] = [];
  let release = () => { /* replaced below */ };
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const runner: NotifierRunner = async (name) => {
    started.push(name);
    if (started.length === 1) await gate;
    return {};
  };
  const dispatcher = new NotifyDispatcher({ notifiers, wait: { min: 0, max: 0 }, log: captureLog().log, clock, secretValues: () => [], runner });
  const first = dispatcher.notify([change('a.hbs', 'nginx')]);
  const second = dispatcher.notify([change('a.hbs', 'nginx')]);
  await clock.advance(0);
  t.deepEqual(started, ['nginx']);
  release();
  t.deepEqual(names([...(await first), ...(await second)]), ['nginx:success', 'nginx:success']);
  t.deepEqual(started, ['nginx', 'nginx']);
});

test('a failing notifier is logged and returned as a failure while the others in the run succeed', async (t) => {
  const reported: string[] = [];
  const runner: NotifierRunner = (name) => (name === 'nginx' ? Promise.reject(new Error('boom with details')) : Promise.resolve({}));
  const { dispatcher, captured } = setup({ min: 0, max: 0 }, { runner, onResult: (result) => { reported.push(`${result.notifier}:${result.result}`); } });
  const results = await dispatcher.notify([change('a.hbs', 'app', 'nginx', 'mark', 'nobody')]);
  t.deepEqual(names(results), ['app:success', 'nginx:failure', 'mark:success', 'nobody:failure']);
  t.deepEqual(reported.sort(), names(results).sort());
  t.true(results.every((result) => result.result === 'success' || isAgentError(result.error, 'ERR_NOTIFY')));
  t.is(results[1]?.error?.message, 'command notifier failed unexpectedly');
  t.is(results[3]?.error?.message, 'no notifier named "nobody" is configured (a template lists it in notify:)');
  const failures = captured.lines().filter((line) => line['msg'] === 'notifier failed');
  t.deepEqual(failures.map((line) => `${String(line['notifier'])} ${String(line['code'])} ${String(line['component'])}`).sort(), ['nginx ERR_NOTIFY notify', 'nobody ERR_NOTIFY notify']);
  t.false(captured.text().includes('boom'));
});

test('an onResult hook that throws changes no result and stops no notifier', async (t) => {
  const { dispatcher, runs } = setup({ min: 0, max: 0 }, { onResult: () => { throw new Error('metrics broke'); } });
  t.deepEqual(names(await dispatcher.notify([change('a.hbs', 'app', 'mark')])), ['app:success', 'mark:success']);
  t.deepEqual(runs, ['app@0', 'mark@0']);
});

test('the log line of a run names the notifier, its kind and every template that asked for it', async (t) => {
  const { dispatcher, captured } = setup({ min: 0, max: 0 });
  await dispatcher.notify([change('a.hbs', 'mark'), change('b.hbs', 'mark')]);
  t.like(captured.lines()[0], { component: 'notify', notifier: 'mark', kind: 'touch', templates: 'a.hbs,b.hbs', msg: 'notifier ran' });
});

test('stop drops a waiting burst without running it, and later calls run nothing', async (t) => {
  const { clock, runs, dispatcher } = setup({ min: 2_000, max: 5_000 });
  const waiting = dispatcher.notify([change('a.hbs', 'app')]);
  await dispatcher.stop();
  t.deepEqual(await waiting, []);
  t.deepEqual(clock.pendingDelays, []);
  await clock.advance(10_000);
  t.deepEqual(await dispatcher.notify([change('a.hbs', 'app')]), []);
  t.deepEqual(runs, []);
});

/** A runner whose first run waits for release(); every start is recorded. */
function gated() {
  const started: string[] = [];
  let release = () => { /* replaced below */ };
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const runner: NotifierRunner = async (name) => {
    started.push(name);
    if (started.length === 1) await gate;
    return {};
  };
  return { started, release: () => { release(); }, runner };
}

test('changes that arrive while a run is in flight join one queued run, not one run each', async (t) => {
  const { started, release, runner } = gated();
  const dispatcher = new NotifyDispatcher({ notifiers, wait: { min: 0, max: 0 }, log: captureLog().log, clock: new FakeClock(0), secretValues: () => [], runner });
  const calls = [dispatcher.notify([change('a.hbs', 'nginx')])];
  for (let cycle = 0; cycle < 5; cycle++) calls.push(dispatcher.notify([change(`${cycle}.hbs`, 'nginx')]));
  await Promise.resolve();
  t.deepEqual(started, ['nginx']);
  release();
  const results = await Promise.all(calls);
  t.deepEqual(results.map(names), Array.from({ length: 6 }, () => ['nginx:success']));
  t.deepEqual(started, ['nginx', 'nginx'], 'the run in flight, then one run for every change that waited behind it');
});

test('stop lets the run in flight finish but starts no run that was queued behind it', async (t) => {
  const { started, release, runner } = gated();
  const dispatcher = new NotifyDispatcher({ notifiers, wait: { min: 0, max: 0 }, log: captureLog().log, clock: new FakeClock(0), secretValues: () => [], runner });
  const first = dispatcher.notify([change('a.hbs', 'nginx')]);
  const queued = dispatcher.notify([change('b.hbs', 'app')]);
  await Promise.resolve();
  const stopped = dispatcher.stop();
  release();
  await stopped;
  t.deepEqual(names(await first), ['nginx:success']);
  t.deepEqual(await queued, []);
  t.deepEqual(started, ['nginx']);
});

test('at a reload, a burst the old dispatcher dropped and a change it is told of after stop run on the new one, with its notifiers', async (t) => {
  const old = setup({ min: 2_000, max: 5_000 }, { notifiers: { ...notifiers, gone: { touch: '/secrets/.gone' } } });
  void old.dispatcher.notify([change('a.hbs', 'app', 'gone')]);
  await old.dispatcher.stop();
  const clock = old.clock;
  const runs: string[] = [];
  const runner: NotifierRunner = (name, config) => {
    runs.push(`${name}:${'command' in config ? config.command.join(' ') : 'other'}@${clock.now()}`);
    return Promise.resolve({});
  };
  const renewed: Record<string, NotifierConfig> = { ...notifiers, app: { command: ['reload-app'], timeout: 30_000 } };
  const next = new NotifyDispatcher({ notifiers: renewed, wait: { min: 1_000, max: 5_000 }, log: captureLog().log, clock, secretValues: () => [], runner });
  old.dispatcher.handOff(next);
  void old.dispatcher.notify([change('b.hbs', 'nginx')]); // the cycle that was in flight during the reload
  await clock.advance(999);
  t.deepEqual(runs, []);
  await clock.advance(1);
  t.deepEqual(runs, ['app:reload-app@1000', 'nginx:nginx -s reload@1000'], 'one run, with the new definitions, of notifiers the new config still has');
  t.deepEqual(old.runs, []);
});
