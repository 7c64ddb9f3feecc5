// `secrets-agent health [--json]`: for each backend of the chain — reachable, authenticated, latency, token
// TTL. Exit 0 when the chain can serve, 1 when it cannot (docs/commands.md).
import { chainCanServe, probeBackends } from '../library/health.js';
import type { CommandContext } from '../runtime/context.js';
import { createStore } from '../runtime/context.js';

/** Returns the exit code. */
export async function healthCommand(context: CommandContext, options: { json?: boolean }): Promise<number> {
  const store = await createStore(context);
  try {
    const health = await probeBackends(store);
    const ok = chainCanServe(health);
    const out = context.io.stdout;
    if (options.json) {
      out.write(`${JSON.stringify({ status: ok ? 'healthy' : 'unhealthy', backends: health })}\n`);
    } else {
      for (const entry of health) {
        const ttl = entry.tokenTtlSeconds === undefined ? '' : `, token ttl ${entry.tokenTtlSeconds}s`;
        const error = entry.error === undefined ? '' : ` - ${entry.error}`;
        out.write(`${entry.backend.padEnd(6)} ${entry.reachable ? 'reachable' : 'unreachable'}, ${entry.authenticated ? 'authenticated' : 'not authenticated'}, ${entry.latencyMs} ms${ttl}${error}\n`);
      }
      out.write(`${ok ? 'healthy' : 'unhealthy'}: ${ok ? 'the chain can serve' : 'no secret store in the chain can serve'}\n`);
    }
    return ok ? 0 : 1;
  } finally {
    await store.close();
  }
}
