// A manual clock for tests: time moves only when the test calls advance(), and due timers fire in order.
import type { Clock, TimerHandle } from '../../agent/util/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const entry = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(entry);
    return { cancel: () => { this.#pending = this.#pending.filter((p) => p !== entry); } };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers still waiting, soonest first, as delays from now. */
  get pendingDelays(): number[] {
    return this.#sorted().map((p) => p.at - this.#now);
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order; lets promise callbacks run between them. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#sorted()[0];
      if (!next || next.at > target) break;
      this.#pending = this.#pending.filter((p) => p !== next);
      this.#now = next.at;
      next.fn();
      await flush();
    }
    this.#now = target;
    await flush();
  }

  #sorted(): Pending[] {
    return [...this.#pending].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
}

/** Let pending promise callbacks (and one turn of I/O) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A deterministic Random: returns the given values in turn, cycling. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}
