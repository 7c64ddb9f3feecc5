// Cycles never overlap (docs/design.md "Triggers"): a trigger during a cycle schedules exactly one follow-up,
// however many triggers arrive, and that follow-up knows every reason it stands for. On-demand triggers (SIGUSR1,
// POST /v1/refresh) are also coalesced in time: at most one cycle starts per `minIntervalMs` because of them,
// whatever their rate; the others join the next cycle. A local loop can therefore never drive more than one read
// per secret per second.
import { systemClock } from '../util/clock.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export interface SerialOptions {
  /** Least time between the starts of cycles that only on-demand triggers asked for (default 1 s). */
  readonly minIntervalMs?: number;
  readonly clock?: Clock;
}

export class SerialRunner {
  readonly #run: (reasons: string[]) => Promise<void>;
  readonly #minInterval: number;
  readonly #clock: Clock;
  #running: Promise<void> | undefined;
  /** Reasons of the one follow-up cycle, and whether any of them must not wait (start, schedule, watch, retry...). */
  #pending: { reasons: string[]; urgent: boolean } | undefined;
  #lastStart = Number.NEGATIVE_INFINITY;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(run: (reasons: string[]) => Promise<void>, options: SerialOptions = {}) {
    this.#run = run;
    this.#minInterval = options.minIntervalMs ?? 1000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Ask for a run; starts now when idle, else folds into the one follow-up run. */
  trigger(reason: string): void {
    this.#ask(reason, true);
  }

  /** Ask for a run on demand (SIGUSR1, POST /v1/refresh): like trigger, but at most one start per interval. True when `reason` is new to the next run. */
  request(reason: string): boolean {
    return this.#ask(reason, false);
  }

  /** Resolves when no run is in progress (a throttled follow-up may still be waiting for its time). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Drop the follow-up and its timer; the run in flight finishes. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pending = undefined;
  }

  #ask(reason: string, urgent: boolean): boolean {
    if (this.#stopped) return false;
    this.#pending ??= { reasons: [], urgent: false };
    const added = !this.#pending.reasons.includes(reason);
    if (added) this.#pending.reasons.push(reason);
    this.#pending.urgent ||= urgent;
    if (!this.#running) this.#next();
    return added;
  }

  /** Start the pending run now, or arm the timer for when the interval allows it. */
  #next(): void {
    const pending = this.#pending;
    if (!pending || this.#stopped) return;
    const wait = pending.urgent ? 0 : this.#lastStart + this.#minInterval - this.#clock.now();
    if (wait > 0) {
      this.#timer ??= this.#clock.setTimeout(() => {
        this.#timer = undefined;
        if (!this.#running) this.#next();
      }, wait);
      return;
    }
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pending = undefined;
    this.#lastStart = this.#clock.now();
    this.#running = this.#run(pending.reasons)
      .catch(() => undefined)
      .finally(() => {
        this.#running = undefined;
        this.#next();
      });
  }
}
