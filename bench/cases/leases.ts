// Requests per hour of a sidecar holding 10 dynamic database credentials of 1 h TTL (24 h max TTL), against the
// minimum the lease arithmetic needs (docs/vault.md "Lease timing"). The real Agent with its node-vault client
// runs in-process against the Vault emulator, both on one FakeClock, so 48 simulated hours take seconds and the
// jitter is the real random source. After every simulated minute each file's credential is checked against the
// emulator's lease table: a request count bought with an expired credential would not count.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent } from '../../agent/agent.js';
import { startVaultEmulator } from '../../test/fakes/vault/index.js';
import { FakeClock } from '../../test/helpers/fake-clock.js';
import { scratch } from '../../test/helpers/cli.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { fixed } from '../lib/stats.js';

const LEASES = 10;
const TTL_S = 3600;
const MAX_TTL_S = 86_400;
/** The target: within this factor of the minimum (renewal at ~2/3 of the lease costs 1.5 requests per lease-hour). */
const TARGET_FACTOR = 2;

const template = (role: string): string => `{{#with (vault "database/creds/${role}")}}\nDB_USER={{username}}\nDB_PASSWORD={{password}}\n{{/with}}\n`;
const userIn = (text: string): string => /^DB_USER='?([^'\n]+)'?$/m.exec(text)?.[1] ?? '<none>';

export async function leases(options: BenchOptions): Promise<CaseResult> {
  const hours = options.smoke ? 3 : 48;
  const stepMs = 60_000;
  const clock = new FakeClock();
  const vault = await startVaultEmulator({ clock });
  const roles = Array.from({ length: LEASES }, (_, i) => `role${i}`);
  for (const role of roles) vault.addDatabaseRole(role, { defaultTtl: TTL_S, maxTtl: MAX_TTL_S });
  const files = Object.fromEntries(roles.map((role) => [`templates/${role}.env.hbs`, template(role)]));
  const { dir, cleanup } = await scratch({
    ...files,
    'config.yaml': [
      'templates: ./templates', 'output: ./out', 'backend: vault', 'listen: ""', 'splay: 0s', 'log: { level: error }',
      `vault: { address: "${vault.address}", auth: { token: "${vault.token}" } }`, '',
    ].join('\n'),
  });
  const quiet = new Writable({ write(_chunk, _encoding, done) { done(); } });
  const agent = new Agent({
    io: { argv: [], env: {}, cwd: dir, stdout: quiet, stderr: quiet, logStream: quiet },
    flags: { config: join(dir, 'config.yaml') },
    clock,
    random: Math.random,
    // No schedule: every request counted here comes from the lease timers, not from cron cycles.
    cronFactory: () => ({ stop: () => undefined }),
  });
  let invalid = 0;
  const credentials = new Set<string>();
  try {
    await agent.start();
    await agent.settled();
    vault.counters.reset();
    const before = { ...vault.leases.counters };
    for (let elapsed = 0; elapsed < hours * 3_600_000; elapsed += stepMs) {
      await clock.advance(stepMs);
      await agent.settled();
      for (const role of roles) {
        const user = userIn(await readFile(join(dir, 'out', `${role}.env`), 'utf8'));
        credentials.add(user);
        if (!vault.leases.validAt(user, clock.now())) invalid += 1;
      }
    }
    const issued = vault.leases.counters.issued - before.issued;
    const renewed = vault.leases.counters.renewed - before.renewed;
    const requests = vault.counters.count({ route: 'database' }) + vault.counters.count({ route: 'leases' });
    const others = vault.counters.requests.length - requests;
    const perHour = requests / hours;
    // One request per lease-hour keeps a 1 h lease alive (a renewal, or at the max TTL an issue in its place).
    const minimum = LEASES * (3600 / TTL_S);
    const factor = perHour / minimum;
    options.log(`leases: ${requests} requests in ${hours} h (${issued} issues, ${renewed} renewals), ${fixed(perHour, 2)}/h, minimum ${minimum}/h, ${invalid} expired credentials seen`);
    return {
      rows: [{
        id: 'lease-requests',
        figure: 'Vault requests per hour holding dynamic credentials',
        workload: `${LEASES} leases of 1 h TTL (24 h max TTL), ${hours} simulated hours`,
        target: `≤ ${TARGET_FACTOR} × the minimum (${minimum}/h: one per lease-hour), no expired credential in a file`,
        measured: `**${fixed(perHour, 2)}/h** = ${fixed(factor, 2)} × (${issued} issues + ${renewed} renewals); expired credentials seen in files: ${invalid}`,
        met: options.smoke ? undefined : factor <= TARGET_FACTOR && invalid === 0,
      }],
      details: [
        '### Leases: requests per hour (10 dynamic credentials of 1 h)',
        '',
        `The real agent (node-vault) in-process against the Vault emulator's database engine, both on one fake clock, no`,
        `cron schedule: ${LEASES} templates each read \`vault "database/creds/roleN"\` (roles of 1 h TTL, 24 h max TTL), and the`,
        `clock is moved ${hours} h in one-minute steps. After every step each file's credential is checked against the`,
        `emulator's lease table. Requests counted: \`database/creds\` reads and \`sys/leases\` calls (${others} other requests,`,
        'token lookups and renewals, are not lease work).',
        '',
        '| sample | value |',
        '|---|---|',
        `| requests | ${requests} in ${hours} h: ${issued} issues, ${renewed} renewals |`,
        `| per hour | ${fixed(perHour, 2)} (minimum ${minimum}: one per lease-hour; renewing at ~⅔ of the lease costs 1.5) |`,
        `| distinct credentials written | ${credentials.size} (the first ${LEASES}, then one replacement per lease per max TTL: ${LEASES * (1 + Math.floor(hours * 3600 / MAX_TTL_S))} expected) |`,
        `| file checks that found an expired credential | ${invalid} of ${roles.length * hours * 60} |`,
        '',
      ].join('\n'),
    };
  } finally {
    await agent.stop();
    await vault.close();
    await cleanup();
  }
}
