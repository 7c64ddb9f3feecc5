// `kill -9` while writes are in flight (docs/design.md "The output directory", docs/operations.md "Stopping"): a
// reader only ever sees complete files holding a value that was written, and whatever the kills left behind, the
// next start leaves nothing in the output directory but the destinations and `.secrets-agent/`.
import { mkdir, open, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import test from 'ava';
import { eventually } from '../helpers/agent-process.js';
import { scratch } from '../helpers/cli.js';
import { sleep, spawnAgent, tempFiles } from './writer-agent.js';
import type { WriterAgent } from './writer-agent.js';

const KILLS = 50;
/** On a starved machine a kill can wait its whole deadline: the loop then stops after LOOP_MS, with MIN_KILLS done. */
const LOOP_MS = 90_000;
const MIN_KILLS = 10;
/** 8,192 lines of 64 bytes: 512 KiB per destination. */
const PAD_LINES = 8192;
const PAD = 'x'.repeat(53);

/** The three destinations and how a complete one reads: every key present, the password one that was written. */
const destinations: ReadonlyArray<{ name: string; read: (text: string) => string }> = [
  {
    name: 'app.env',
    read: (text) => {
      const env = parseEnv(text);
      const pads = Object.keys(env).filter((key) => key.startsWith('PAD_')).length;
      if (pads !== PAD_LINES || env['END'] !== '1' || env['PAD_08191'] !== PAD) throw new Error(`incomplete dotenv: ${pads} PAD_ keys, END=${String(env['END'])}`);
      return env['PASSWORD'] ?? '';
    },
  },
  ...['config.json', 'sub/db.json'].map((name) => ({
    name,
    read: (text: string): string => {
      const json = JSON.parse(text) as { password?: unknown; pad?: unknown; end?: unknown };
      if (!Array.isArray(json.pad) || json.pad.length !== PAD_LINES || json.end !== true) throw new Error('incomplete JSON');
      return String(json.password);
    },
  })),
];

test('after 10 to 50 kill -9 during writes, every file read was complete and a new start leaves no temp file', async (t) => {
  t.timeout(300_000, 'a busy 2-core machine; the loop itself takes about 30 s');
  const started = Date.now();
  const padEnv = Array.from({ length: PAD_LINES }, (_, i) => `PAD_${String(i).padStart(5, '0')}=${PAD}\n`).join('');
  const padJson = Array.from({ length: PAD_LINES }, () => JSON.stringify(PAD)).join(',\n');
  const { dir, cleanup } = await scratch({
    'config.yaml': ['templates: ./templates', 'output: ./out', 'backend: file', 'file:', '  path: ./in/secrets.yaml', 'listen: ""', 'schedule: "0 0 1 1 *"', 'splay: 0s', ''].join('\n'),
    'in/secrets.yaml': 'app:\n  password: "pw-0"\n',
    // raw: written without being parsed back (docs/templates.md), so 512 KiB renders fast; the values are plain words.
    'templates/app.env.hbs': `---\nformat: raw\n---\nPASSWORD={{secret "app/password"}}\n${padEnv}END=1\n`,
    'templates/config.json.hbs': `---\nformat: raw\n---\n{"password": "{{secret "app/password"}}", "pad": [\n${padJson}\n], "end": true}\n`,
    'templates/db.json.hbs': `---\ndestination: sub/db.json\nformat: raw\n---\n{"password": "{{secret "app/password"}}", "pad": [\n${padJson}\n], "end": true}\n`,
  });
  t.teardown(cleanup);
  const out = join(dir, 'out');
  const agents: WriterAgent[] = [];
  t.teardown(() => {
    for (const agent of agents) agent.kill();
  });

  // The secret changes every 50 ms (written atomically, so the agent always reads a whole file): every start writes.
  const written = new Set(['pw-0']);
  let last = 'pw-0';
  const state = { running: true };
  const rewriter = (async () => {
    for (let n = 1; state.running; n++) {
      last = `pw-${n}`;
      written.add(last);
      await writeFile(join(dir, 'in/secrets.yaml.new'), `app:\n  password: "${last}"\n`);
      await rename(join(dir, 'in/secrets.yaml.new'), join(dir, 'in/secrets.yaml'));
      await sleep(50);
    }
  })();

  // Continuous verification: whenever a destination exists, it parses completely and holds a written value. Every
  // write is a new inode (rename), so each inode is parsed once: the check keeps up with every version on 2 cores.
  const problems: string[] = [];
  let reads = 0;
  const seenTemps = new Set<string>();
  const verified = new Map<string, number>();
  const verifier = (async () => {
    while (state.running) {
      for (const { name, read } of destinations) {
        let text: string;
        let handle;
        try {
          handle = await open(join(out, name), 'r');
        } catch {
          continue; // not written yet
        }
        try {
          const { ino } = await handle.stat();
          if (verified.get(name) === ino) continue;
          verified.set(name, ino);
          text = await handle.readFile('utf8');
        } finally {
          await handle.close();
        }
        reads++;
        try {
          const password = read(text);
          if (!written.has(password)) problems.push(`${name} holds "${password}", never written`);
        } catch (error) {
          problems.push(`${name}: ${(error as Error).message} (${text.length} bytes)`);
        }
      }
      for (const name of await tempFiles(out)) seenTemps.add(name);
      await sleep(5);
    }
  })();

  // Three kinds of kill, in turn: the moment a temp file shows (in the middle of a write); up to 400 ms after the
  // first destination was replaced (the rest of the cycle in flight); anywhere in start-up (100..700 ms).
  const inodes = async (): Promise<string> => (await Promise.all(destinations.map(({ name }) => stat(join(out, name)).then((s) => s.ino, () => 0)))).join(',');
  let kills = 0;
  let killedWithTemp = 0;
  let leftByKills = 0;
  let mostAtStart = 0;
  try {
    // A first write before the kills: on a starved machine every killed start could end before its first write, and
    // the verifier would have nothing to read.
    const first = spawnAgent(['--config', join(dir, 'config.yaml')]);
    agents.push(first);
    t.true(await eventually(async () => !(await inodes()).split(',').includes('0'), 120_000), first.stderr());
    first.kill();
    await first.exited;
    const loopStarted = Date.now();
    for (let i = 0; i < KILLS; i++) {
      if (i >= MIN_KILLS && Date.now() - loopStarted > LOOP_MS) break;
      kills++;
      const before = new Set(await tempFiles(out));
      mostAtStart = Math.max(mostAtStart, before.size);
      const files = await inodes();
      const agent = spawnAgent(['--config', join(dir, 'config.yaml')]);
      agents.push(agent);
      const kind = i === KILLS - 1 ? 0 : i % 3; // the last one mid-write, so the final start has something to remove
      // Waiting for a destination to be replaced always ends (each start writes the value changed since), so it may
      // take long on a starved machine; a temp file may show between two polls: 4 s.
      const deadline = Date.now() + (kind === 1 ? 30_000 : 4000);
      const alive = (): boolean => Date.now() < deadline && agent.child.exitCode === null;
      if (kind === 0) {
        while (alive() && (await tempFiles(out)).every((name) => before.has(name))) await sleep(2);
      } else if (kind === 1) {
        while (alive() && (await inodes()) === files) await sleep(2);
        await sleep(Math.floor(Math.random() * 400));
      } else {
        await sleep(100 + Math.floor(Math.random() * 600));
      }
      if ((await tempFiles(out)).some((name) => !before.has(name))) killedWithTemp++;
      agent.kill();
      await agent.exited;
      leftByKills += (await tempFiles(out)).filter((name) => !before.has(name)).length;
    }
  } finally {
    state.running = false;
    await rewriter;
    await verifier;
  }
  // An upgrade: the earlier writer left `.<name>.<hex>.tmp` beside its destinations; the final start removes those too.
  await mkdir(join(out, 'sub'), { recursive: true });
  await writeFile(join(out, '.app.env.0123456789abcdef.tmp'), 'PASSWORD=pw-old\nPAD_00');
  await writeFile(join(out, 'sub/.db.json.fedcba9876543210.tmp'), '{"password": "pw-old", "pa');
  const leftBefore = await tempFiles(out);
  const loopSeconds = (Date.now() - started) / 1000;

  // A clean start: once it has written the last value everywhere, the tree holds destinations and .secrets-agent only.
  const agent = spawnAgent(['--config', join(dir, 'config.yaml')]);
  agents.push(agent);
  const deadline = Date.now() + 60_000;
  const current = async (): Promise<boolean> => {
    for (const { name, read } of destinations) {
      const password = await readFile(join(out, name), 'utf8').then(read, () => undefined);
      if (password !== last) return false;
    }
    return true;
  };
  // The destinations may already hold the last value (a killed start wrote it), so "current" alone can be true
  // before this process has its signal handlers; the removal line comes from its own start.
  const removed = (): boolean => agent.lines().some((line) => line['component'] === 'write' && String(line['msg']).startsWith('removed '));
  while (Date.now() < deadline && agent.child.exitCode === null && !(removed() && (await current()))) await sleep(25);
  t.true(await current(), `the final start writes the last value everywhere\n${agent.stderr()}`);
  const running = { top: (await readdir(out)).sort(), sub: await readdir(join(out, 'sub')), own: await readdir(join(out, '.secrets-agent')) };
  agent.kill('SIGTERM');
  t.is(await agent.exited, 0, agent.stderr());
  const leftAfter = await tempFiles(out);

  t.log(`${kills} kills in ${loopSeconds.toFixed(1)} s, ${killedWithTemp} with a write in flight; ${leftByKills} temp files left by the kills (at most ${mostAtStart} present when an agent started); ${seenTemps.size} temp files seen in all; ${written.size} values written, ${reads} versions of the destinations read, all complete; before the final start ${leftBefore.length} temp files, after it ${leftAfter.length}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  t.deepEqual(problems, [], 'every read of a destination was complete and held a written value');
  t.true(reads > 0, 'the destinations were read while the agent was being killed');
  // No provenance.json: `backend: file` is a forced backend, which reads and records no provenance.
  t.deepEqual(running, { top: ['.secrets-agent', 'app.env', 'config.json', 'sub'], sub: ['db.json'], own: [] }, `left before the final start: ${leftBefore.join(', ')}`);
  t.deepEqual(leftAfter, []);
  const removal = agent.lines().find((line) => line['component'] === 'write' && String(line['msg']).startsWith('removed '));
  t.is(removal?.['msg'], `removed ${leftBefore.length} temp file(s) that an interrupted write left in ${out}`, 'the start says what it removed');
});
