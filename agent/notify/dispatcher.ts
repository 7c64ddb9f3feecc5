// Runs notifiers after a cycle's files are written (docs/design.md "The output directory"), with consul-template's `wait` quiescence:
// a burst of notify() calls is coalesced into one run that starts `min` after the latest call, but never later
// than `max` after the first. min 0 runs at once. Runs never overlap: everything that becomes due while one is
// running is one run, started when it ends. Each notifier runs once per run, all of them in parallel; a failure is logged
// (component notify, code ERR_NOTIFY), reported to onResult and returned, and stops nothing else.
import { AgentError, isAgentError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { NotifyDetails } from './common.js';
import type { NotifierConfig, RunNotifierOptions } from './run.js';
import { notifierKind, runNotifier } from './run.js';

/** One template whose bytes changed this cycle, and the notifiers it names. */
export interface ChangedTemplate {
  template: string;
  notify: readonly string[];
}

export interface NotifyResult {
  notifier: string;
  result: 'success' | 'failure';
  error?: AgentError;
}

/** Runs one named notifier; the default runs the real one. Tests and library users may substitute it. */
export type NotifierRunner = (name: string, config: NotifierConfig) => Promise<NotifyDetails>;

export interface NotifyDispatcherOptions {
  notifiers: Readonly<Record<string, NotifierConfig>>;
  /** Quiescence in ms; the config guarantees min <= max. */
  wait: { min: number; max: number };
  log: Logger;
  clock: Clock;
  /** Every secret value the agent holds now (command notifiers never see them in their environment). */
  secretValues: () => Iterable<string>;
  /** Called once per notifier run, e.g. to count `notify_total{notifier,result}`. */
  onResult?: (result: NotifyResult) => void;
  runner?: NotifierRunner;
  /** Seams passed to the real notifiers (fake /proc, kill grace, retry delay, base environment). */
  runOptions?: Omit<RunNotifierOptions, 'clock' | 'secretValues'>;
}

interface Waiter {
  names: ReadonlySet<string>;
  resolve: (results: NotifyResult[]) => void;
}

interface Queued {
  wanted: Map<string, Set<string>>;
  callers: Array<(results: NotifyResult[]) => void>;
}

interface Burst {
  /** Notifier name → the templates that asked for it. */
  wanted: Map<string, Set<string>>;
  waiters: Waiter[];
  deadline: number;
  timer: TimerHandle | undefined;
}

export class NotifyDispatcher {
  readonly #options: NotifyDispatcherOptions;
  readonly #log: Logger;
  readonly #runner: NotifierRunner;
  #burst: Burst | undefined;
  /** The run in flight, if any; it starts #queued when it ends. */
  #running: Promise<void> | undefined;
  /** What became due while a run was in flight: one run for all of it, started when that run ends. */
  #queued: Queued | undefined;
  #stopped = false;
  /** Notifier → templates of changes dropped since stop(), until handOff() passes them on. */
  #dropped = new Map<string, Set<string>>();
  /** The dispatcher of the configuration that replaced this one; changes told to this one after stop() go there. */
  #successor: NotifyDispatcher | undefined;

  // Why: everything a run needs is fixed at construction; a config reload builds a new dispatcher.
  constructor(options: NotifyDispatcherOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'notify' });
    this.#runner = options.runner ?? ((_name, config) => runNotifier(config, { ...options.runOptions, clock: options.clock, secretValues: options.secretValues }));
  }

  // Why: the caller reports what changed; when and how often notifiers run is decided here.
  /** Queue the notifiers named by `changed`; resolves with their results once the coalesced run has finished. */
  notify(changed: readonly ChangedTemplate[]): Promise<NotifyResult[]> {
    const wanted = new Map<string, Set<string>>();
    for (const { template, notify } of changed) for (const name of notify) wanted.set(name, (wanted.get(name) ?? new Set()).add(template));
    if (wanted.size === 0) return Promise.resolve([]);
    if (this.#stopped) {
      if (this.#successor !== undefined) return this.#successor.notify(this.#successor.#known(changed));
      merge(this.#dropped, wanted);
      return Promise.resolve([]);
    }
    const names = new Set(wanted.keys());
    if (this.#options.wait.min === 0) return this.#enqueue(wanted).then((results) => pick(results, names));
    return new Promise((resolve) => {
      const now = this.#options.clock.now();
      const burst: Burst = this.#burst ?? { wanted: new Map(), waiters: [], deadline: now + this.#options.wait.max, timer: undefined };
      this.#burst = burst;
      merge(burst.wanted, wanted);
      burst.waiters.push({ names, resolve });
      burst.timer?.cancel();
      const delay = Math.max(0, Math.min(this.#options.wait.min, burst.deadline - now));
      burst.timer = this.#options.clock.setTimeout(() => { this.#fire(burst); }, delay);
      this.#log.debug({ notifiers: [...burst.wanted.keys()].join(','), delayMs: delay }, 'waiting for changes to settle before notifying');
    });
  }

  // Why: shutdown must not start notifiers for a burst still waiting or a run queued, but lets a run in flight finish.
  /** Drop the waiting burst and the queued run (their callers get [], handOff() gets their changes); resolve when the run in flight has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const burst = this.#burst;
    this.#burst = undefined;
    burst?.timer?.cancel();
    for (const waiter of burst?.waiters ?? []) waiter.resolve([]);
    const queued = this.#queued;
    this.#queued = undefined;
    for (const caller of queued?.callers ?? []) caller([]);
    for (const dropped of [burst?.wanted, queued?.wanted]) if (dropped !== undefined) merge(this.#dropped, dropped);
    await this.#running;
  }

  // Why: a reload stops this dispatcher, but files written before it (a burst still waiting for quiet) or by the
  // cycle still in flight (it holds this dispatcher) changed bytes nobody was told of; the next cycle finds them
  // unchanged and notifies nobody. They run on the new dispatcher, with the new configuration's definitions,
  // except notifiers the new configuration no longer has.
  /** After stop(): run the changes dropped since on `next`, and pass every later notify() to it. */
  handOff(next: NotifyDispatcher): void {
    this.#successor = next;
    const changed = [...this.#dropped].flatMap(([name, templates]) => [...templates].map((template) => ({ template, notify: [name] })));
    this.#dropped = new Map();
    if (changed.length > 0) void next.notify(next.#known(changed));
  }

  /** `changed` without the notifier names this dispatcher does not define (a reload removed them). */
  #known(changed: readonly ChangedTemplate[]): ChangedTemplate[] {
    const known = (name: string): boolean => Object.hasOwn(this.#options.notifiers, name);
    const removed = [...new Set(changed.flatMap((change) => change.notify.filter((name) => !known(name))))];
    if (removed.length > 0) this.#log.debug({ notifiers: removed.join(',') }, 'changes from before the reload name notifiers the new configuration no longer has; not run');
    return changed.map((change) => ({ template: change.template, notify: change.notify.filter(known) }));
  }

  // Why: the quiet period is over; the burst becomes one run and every waiting caller gets its share.
  #fire(burst: Burst): void {
    if (this.#burst === burst) this.#burst = undefined;
    const run = this.#enqueue(burst.wanted);
    for (const waiter of burst.waiters) void run.then((results) => { waiter.resolve(pick(results, waiter.names)); });
  }

  // Why: a slow notifier is never started a second time while it is still running, and everything that became
  // due meanwhile waits as one run: a command hanging until its timeout while cycles keep changing files would
  // otherwise pile up one run per cycle, each started after the last and each as slow.
  #enqueue(wanted: ReadonlyMap<string, ReadonlySet<string>>): Promise<NotifyResult[]> {
    return new Promise((resolve) => {
      const queued: Queued = this.#queued ?? { wanted: new Map(), callers: [] };
      this.#queued = queued;
      merge(queued.wanted, wanted);
      queued.callers.push(resolve);
      if (this.#running === undefined) this.#startQueued();
    });
  }

  #startQueued(): void {
    const queued = this.#queued;
    this.#queued = undefined;
    if (queued === undefined || this.#stopped) {
      this.#running = undefined;
      return;
    }
    // #runOne never rejects: each notifier's failure becomes its result.
    this.#running = Promise.all([...queued.wanted].map(([name, templates]) => this.#runOne(name, templates))).then((results) => {
      for (const caller of queued.callers) caller(results);
      this.#startQueued();
    });
  }

  // Why: each notifier's failure is caught, logged and reported alone, so the others run regardless.
  async #runOne(name: string, templates: ReadonlySet<string>): Promise<NotifyResult> {
    const config = Object.hasOwn(this.#options.notifiers, name) ? this.#options.notifiers[name] : undefined;
    const context = { notifier: name, templates: [...templates].join(',') };
    let result: NotifyResult;
    if (config === undefined) {
      const error = new AgentError('ERR_NOTIFY', `no notifier named "${name}" is configured (a template lists it in notify:)`, { details: context });
      this.#log.error({ ...context, code: error.code, error: error.message }, 'notifier failed');
      result = { notifier: name, result: 'failure', error };
    } else {
      const kind = notifierKind(config);
      try {
        const details = await this.#runner(name, config);
        this.#log.info({ ...details, ...context, kind }, 'notifier ran');
        result = { notifier: name, result: 'success' };
      } catch (thrown) {
        const error = asAgentError(thrown, kind);
        this.#log.error({ ...error.details, ...context, kind, code: error.code, error: error.message }, 'notifier failed');
        result = { notifier: name, result: 'failure', error };
      }
    }
    this.#report(result);
    return result;
  }

  // Why: a metrics hook that throws must not turn a notifier's success into a failure or stop the run.
  #report(result: NotifyResult): void {
    try {
      this.#options.onResult?.(result);
    } catch {
      this.#log.warn({ notifier: result.notifier }, 'the onResult hook threw; ignored');
    }
  }
}

// Why: a custom runner may throw anything; what reaches a log is always ERR_NOTIFY without a foreign message.
function asAgentError(error: unknown, kind: string): AgentError {
  if (isAgentError(error, 'ERR_NOTIFY')) return error;
  return new AgentError('ERR_NOTIFY', `${kind} notifier failed unexpectedly`);
}

// Why: one place adds a call's notifier → templates to a burst or a queued run.
function merge(into: Map<string, Set<string>>, from: ReadonlyMap<string, ReadonlySet<string>>): void {
  for (const [name, templates] of from) for (const template of templates) into.set(name, (into.get(name) ?? new Set()).add(template));
}

// Why: a caller is told about the notifiers it asked for, not every notifier of the coalesced run.
function pick(results: readonly NotifyResult[], names: ReadonlySet<string>): NotifyResult[] {
  return results.filter((result) => names.has(result.notifier));
}
