// `secrets-agent run` (the default command): the long-running sidecar. Signals: SIGHUP reloads, SIGUSR1
// renders now, SIGTERM/SIGINT stop cleanly (exit 0 within 5 s); a second SIGTERM/SIGINT exits at once.
import { Agent } from '../agent.js';
import type { CommandIo, CommonFlags } from '../runtime/context.js';

/** How long a clean stop may take before the agent gives up waiting and exits anyway. */
export const STOP_GRACE_MS = 5000;

/** Returns the exit code once the agent has stopped. */
export async function runCommand(io: CommandIo, flags: CommonFlags): Promise<number> {
  const agent = new Agent({ io, flags });
  let stop: ((signal: NodeJS.Signals) => void) | undefined;
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    stop = (signal) => {
      if (stopping) {
        // An operator who signals twice wants out now.
        io.exit?.(signal === 'SIGINT' ? 130 : 143);
        return;
      }
      stopping = true;
      const timer = setTimeout(() => {
        resolve(1);
      }, STOP_GRACE_MS);
      timer.unref();
      void agent.stop(signal).then(() => {
        clearTimeout(timer);
        resolve(0);
      });
    };
  });
  const onStop = (signal: NodeJS.Signals): void => stop?.(signal);
  // Handlers go in before start: as PID 1 in a container, a signal without a handler is ignored, and start
  // can take up to vault.timeout.
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', () => void agent.reload());
  process.on('SIGUSR1', () => {
    agent.refresh('SIGUSR1');
  });
  await agent.start();
  return stopped;
}
