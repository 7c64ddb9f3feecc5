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

/** The longest delay Node's setTimeout keeps: a longer one (a 30-day token, a 1-year certificate) fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** setTimeout for any delay: longer ones run as a chain of MAX_TIMER_MS steps. */
function timer(fn: () => void, ms: number, unref: boolean): TimerHandle {
  let current: NodeJS.Timeout;
  const arm = (remaining: number): void => {
    const step = Math.min(remaining, MAX_TIMER_MS);
    current = setTimeout(() => {
      if (remaining > step) arm(remaining - step);
      else fn();
    }, step);
    if (unref) current.unref();
  };
  arm(ms);
  return { cancel: () => { clearTimeout(current); } };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => timer(fn, ms, true),
  sleep: (ms) => new Promise((resolve) => { timer(resolve, ms, false); }),
};

export const systemRandom: Random = Math.random;
