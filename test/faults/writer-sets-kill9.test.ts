// `kill -9` while a set is being written (docs/templates.md "Sets", docs/operations.md "The output directory"): a
// reader that resolves `..data` once only ever sees a cert and key of one generation, and whatever the kills left —
// a generation half written, a previous one not yet removed, a temp symlink — the next start removes it, so the
// directory holds `..data`, the one generation it names, the visible links and `.secrets-agent/`.
import { mkdir, readFile, readdir, readlink, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { eventually } from '../helpers/agent-process.js';
import { scratch } from '../helpers/cli.js';
import { sleep, spawnAgent, tempFiles } from './writer-agent.js';
import type { WriterAgent } from './writer-agent.js';

const KILLS = 30;
/** On a starved machine a kill can wait its whole deadline: the loop then stops after LOOP_MS, with MIN_KILLS done. */
const LOOP_MS = 90_000;
const MIN_KILLS = 10;
/** 256 KiB per file: a generation takes long enough to be killed in the middle of it. */
const PAD = 'x'.repeat(256 * 1024);

const generationsIn = async (out: string): Promise<string[]> => (await readdir(out).catch(() => [] as string[])).filter((name) => /^\.\.\d{4}_/.test(name)).sort();

test('after 10 to 30 kill -9 during set writes, every generation read was whole and a new start leaves no orphan', async (t) => {
  t.timeout(300_000, 'a busy 2-core machine');
  const { dir, cleanup } = await scratch({
    'config.yaml': ['templates: ./templates', 'output: ./out', 'backend: file', 'file:', '  path: ./in/secrets.yaml', 'listen: ""', 'schedule: "0 0 1 1 *"', 'splay: 0s', ''].join('\n'),
    'in/secrets.yaml': 'tls:\n  n: "0"\n',
    'templates/cert.pem.hbs': `---\nset: tls\nformat: raw\n---\nCERT {{secret "tls/n"}} ${PAD}\n`,
    'templates/key.pem.hbs': `---\nset: tls\nformat: raw\ndestination: private/key.pem\n---\nKEY {{secret "tls/n"}} ${PAD}\n`,
  });
  t.teardown(cleanup);
  const out = join(dir, 'out');
  const agents: WriterAgent[] = [];
  t.teardown(() => {
    for (const agent of agents) agent.kill();
  });

  // The counter changes every 50 ms: every start has a new generation to write.
  let last = 0;
  const state = { running: true };
  const rewriter = (async () => {
    while (state.running) {
      last++;
      await writeFile(join(dir, 'in/secrets.yaml.new'), `tls:\n  n: "${last}"\n`);
      await rename(join(dir, 'in/secrets.yaml.new'), join(dir, 'in/secrets.yaml'));
      await sleep(50);
    }
  })();

  // The reader: `..data` resolved once, both files read through that generation.
  const problems: string[] = [];
  const seen = new Set<string>();
  let reads = 0;
  const counter = (text: string): string | undefined => /^(?:CERT|KEY) (\d+) x+\n$/.exec(text)?.[1];
  const verifier = (async () => {
    while (state.running) {
      const generation = await readlink(join(out, '..data')).catch(() => undefined);
      if (generation !== undefined && !seen.has(generation)) {
        try {
          const cert = await readFile(join(out, generation, 'cert.pem'), 'utf8');
          const key = await readFile(join(out, generation, 'private/key.pem'), 'utf8');
          seen.add(generation);
          reads++;
          if (counter(cert) === undefined || counter(cert) !== counter(key)) problems.push(`${generation}: cert ${String(counter(cert))}, key ${String(counter(key))} (${cert.length}/${key.length} bytes)`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${generation}: ${(error as Error).message}`);
        }
      }
      await sleep(5);
    }
  })();

  // Three kinds of kill in turn: while a generation that ..data does not name exists (mid-write, or the previous one
  // not yet removed); just after ..data moved; anywhere in start-up.
  let kills = 0;
  let killedMidWrite = 0;
  let orphansLeft = 0;
  try {
    // A first generation before the kills: on a starved machine every killed start could otherwise end before its
    // first write, and the checks below need a `..data` to judge.
    const first = spawnAgent(['--config', join(dir, 'config.yaml')]);
    agents.push(first);
    t.true(await eventually(async () => (await readlink(join(out, '..data')).catch(() => '')) !== '', 120_000), first.stderr());
    first.kill();
    await first.exited;
    const loopStarted = Date.now();
    for (let i = 0; i < KILLS; i++) {
      if (i >= MIN_KILLS && Date.now() - loopStarted > LOOP_MS) break;
      kills++;
      const before = await readlink(join(out, '..data')).catch(() => '');
      const agent = spawnAgent(['--config', join(dir, 'config.yaml')]);
      agents.push(agent);
      const kind = i % 3;
      // A kill after ..data moved waits for an event that always comes (each start writes a generation of the value
      // changed since), so it may wait long: on a starved machine a start can take more than 4 s to write, and the
      // kills must see generations written. The others wait for moments that a poll may miss: 4 s.
      const deadline = Date.now() + (kind === 1 ? 30_000 : 4000);
      const alive = (): boolean => Date.now() < deadline && agent.child.exitCode === null;
      const orphan = async (): Promise<boolean> => {
        const current = await readlink(join(out, '..data')).catch(() => '');
        return (await generationsIn(out)).some((name) => name !== current);
      };
      if (kind === 0) {
        while (alive() && !(await orphan())) await sleep(1);
      } else if (kind === 1) {
        while (alive() && (await readlink(join(out, '..data')).catch(() => '')) === before) await sleep(2);
        await sleep(Math.floor(Math.random() * 30));
      } else {
        await sleep(100 + Math.floor(Math.random() * 600));
      }
      if (await orphan()) killedMidWrite++;
      agent.kill();
      await agent.exited;
      const current = await readlink(join(out, '..data')).catch(() => '');
      orphansLeft += (await generationsIn(out)).filter((name) => name !== current).length;
    }
  } finally {
    state.running = false;
    await rewriter;
    await verifier;
  }
  // Make sure the final start has something of each kind to remove, whatever the kills left.
  await mkdir(join(out, '..2020_01_01_00_00_00.000000000_deadbeef/private'), { recursive: true });
  await writeFile(join(out, '..2020_01_01_00_00_00.000000000_deadbeef/cert.pem'), 'CERT old');
  await symlink('..2020_01_01_00_00_00.000000000_deadbeef', join(out, '.secrets-agent/link-0123456789abcdef.tmp'));
  const current = await readlink(join(out, '..data'));
  const orphansBefore = (await generationsIn(out)).filter((name) => name !== current);
  const tempsBefore = await tempFiles(out);

  const agent = spawnAgent(['--config', join(dir, 'config.yaml')]);
  agents.push(agent);
  const latest = async (): Promise<boolean> => {
    const cert = await readFile(join(out, 'cert.pem'), 'utf8').catch(() => '');
    const key = await readFile(join(out, 'private/key.pem'), 'utf8').catch(() => '');
    return counter(cert) === String(last) && counter(key) === String(last);
  };
  const deadline = Date.now() + 60_000;
  // The last value may already be served (a killed start wrote it), so "latest" alone can be true before this
  // process has its signal handlers or has cleaned up; both removal lines come from its own start.
  const cleaned = (): boolean => ['set generation(s)', 'temp file(s)'].every((what) => agent.lines().some((line) => line['component'] === 'write' && String(line['msg']).includes(what)));
  while (Date.now() < deadline && agent.child.exitCode === null && !(cleaned() && (await latest()))) await sleep(25);
  t.true(await latest(), `the final start writes the last value\n${agent.stderr()}`);
  const generation = await readlink(join(out, '..data'));
  const listing = { top: (await readdir(out)).sort(), own: (await readdir(join(out, '.secrets-agent'))).sort() };
  agent.kill('SIGTERM');
  t.is(await agent.exited, 0, agent.stderr());

  t.log(`${kills} kills, ${killedMidWrite} with a generation not named by ..data present; ${orphansLeft} orphan generations left by the kills in all; ${reads} generations read, all whole; before the final start ${orphansBefore.length} orphan generation(s) and ${tempsBefore.length} temp file(s)`);
  t.deepEqual(problems, [], 'every generation read held a cert and key of the same counter');
  t.true(reads > 1, 'generations were read while the agent was being killed');
  // No provenance.json: `backend: file` is a forced backend, which reads and records no provenance.
  t.deepEqual(listing, { top: ['..data', '.secrets-agent', generation, 'cert.pem', 'private'].sort(), own: ['sets.json'] });
  t.deepEqual(await tempFiles(out), []);
  const removal = agent.lines().find((line) => line['component'] === 'write' && String(line['msg']).includes('set generation(s)'));
  t.is(removal?.['msg'], `removed ${orphansBefore.length} set generation(s) that an interrupted write left in ${out} (..data points to neither)`);
  const temps = agent.lines().find((line) => line['component'] === 'write' && String(line['msg']).includes('temp file(s)'));
  t.is(temps?.['msg'], `removed ${tempsBefore.length} temp file(s) that an interrupted write left in ${out}`);
});
