// Time and randomness behind one small seam, so lease, renewal, retry and splay maths are tested exactly
// (a fake clock in tests advances time by hand; nothing waits on the wall clock).

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` after `ms`; the handle cancels it. Timers never keep the process alive on their own. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Resolve after `ms` (rejecting early is not supported: cancel through the clock's timer instead). */
  sleep(ms: number): Promise<void>;
}

/** A source of uniform numbers in [0, 1), for jitter and splay. */
export type Random = () => number;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return { cancel: () => { clearTimeout(timer); } };
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const systemRandom: Random = Math.random;
