// Scheduled cycles: node-cron fires on the expression, then each run waits a random 0..splay so a fleet of
// agents on the same schedule does not reach Vault in the same second (docs/configuration.md).
import cron from 'node-cron';
import type { Clock, Random, TimerHandle } from '../util/clock.js';

export interface CronTask {
  stop(): void;
}

/** Starts a cron task calling `tick`; the seam tests replace to fire ticks by hand. */
export type CronFactory = (expression: string, tick: () => void) => CronTask;

/** The real node-cron task; `unref` so a schedule alone never keeps a stopping process alive. */
export const nodeCronFactory: CronFactory = (expression, tick) => {
  const task = cron.schedule(expression, () => {
    tick();
  }, { unref: true, noOverlap: false, suppressMissedWarning: true });
  return {
    stop: () => {
      void task.destroy();
    },
  };
};

export interface ScheduleOptions {
  expression: string;
  splayMs: number;
  clock: Clock;
  random: Random;
  /** Called once per scheduled run, after its splay. */
  onRun: () => void;
  cronFactory?: CronFactory;
}

/** The delay before a scheduled run: uniform in [0, splay). */
export function splayDelay(splayMs: number, random: Random): number {
  return Math.floor(random() * splayMs);
}

/** Start the schedule; `stop` cancels the cron task and any run still waiting out its splay. */
export function startSchedule(options: ScheduleOptions): { stop(): void } {
  const waiting = new Set<TimerHandle>();
  const task = (options.cronFactory ?? nodeCronFactory)(options.expression, () => {
    const handle = options.clock.setTimeout(() => {
      waiting.delete(handle);
      options.onRun();
    }, splayDelay(options.splayMs, options.random));
    waiting.add(handle);
  });
  return {
    stop() {
      task.stop();
      for (const handle of waiting) handle.cancel();
      waiting.clear();
    },
  };
}
