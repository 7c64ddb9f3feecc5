// Cycles never overlap (docs/design.md "The output directory"): a trigger during a cycle schedules exactly one follow-up, however many
// triggers arrive, and that follow-up knows every reason it stands for.

export class SerialRunner {
  readonly #run: (reasons: string[]) => Promise<void>;
  #running: Promise<void> | undefined;
  #pending: string[] | undefined;

  constructor(run: (reasons: string[]) => Promise<void>) {
    this.#run = run;
  }

  /** Ask for a run; starts now when idle, else folds into the one follow-up run. */
  trigger(reason: string): void {
    if (this.#running) {
      this.#pending ??= [];
      if (!this.#pending.includes(reason)) this.#pending.push(reason);
      return;
    }
    this.#start([reason]);
  }

  /** Resolves when no run is in progress or pending. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  #start(reasons: string[]): void {
    this.#running = this.#run(reasons)
      .catch(() => undefined)
      .finally(() => {
        this.#running = undefined;
        const next = this.#pending;
        this.#pending = undefined;
        if (next) this.#start(next);
      });
  }
}
