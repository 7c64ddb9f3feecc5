// A per-backend concurrency limit: at most `size` calls in flight, the rest queued in order, so a cycle
// with thousands of paths never opens thousands of sockets to Vault at once.

export class Limiter {
  readonly #size: number;
  #active = 0;
  readonly #queue: Array<() => void> = [];

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Run `task` when a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#size) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }
}
