// A full volume (docs/operations.md "The output directory"): a template that can never fit in the output directory
// fails with ERR_WRITE naming its path and ENOSPC, writes no byte, and never makes the other templates fail: they are
// written every cycle, and no temp file is left after any cycle. A real 512 KiB tmpfs; needs root (CI runs as root).
import { execFile } from 'node:child_process';
import { readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { scratch } from '../helpers/cli.js';
import { mountProblem } from './tmpfs.js';
import { spawnAgent, tempFiles, until } from './writer-agent.js';

const run = promisify(execFile);
/** The volume; the big template renders 900 KiB (under the 1 MiB a raw template and its render may have). */
const VOLUME = 512 * 1024;

const problem = await mountProblem();
const title = 'on a 512 KiB tmpfs a 900 KiB template fails every cycle with ENOSPC while two small ones are written every cycle, and no temp file remains';

(problem === undefined ? test : test.skip)(problem === undefined ? title : `${title} (skipped: ${problem})`, async (t) => {
  t.timeout(90_000);
  // raw: written without being parsed back (docs/templates.md), so it may be far larger than a parsed format.
  const big = `---\nformat: raw\n---\n{"password": "{{secret "app/password"}}", "pad": "${'x'.repeat(900 * 1024)}"}\n`;
  const { dir, cleanup } = await scratch({
    'config.yaml': ['templates: ./templates', 'output: ./out', 'backend: file', 'file:', '  path: ./in/secrets.yaml', 'listen: ""', 'schedule: "0 0 1 1 *"', 'splay: 0s', 'retry: { min: 100ms, max: 400ms }', ''].join('\n'),
    'in/secrets.yaml': 'app:\n  password: "pw-0"\n',
    'templates/big.json.hbs': big,
    'templates/a.env.hbs': 'A={{secret "app/password"}}\n',
    'templates/b.env.hbs': 'B={{secret "app/password"}}\n',
    'out/.keep': '',
  });
  const out = join(dir, 'out');
  await rm(join(out, '.keep'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', out]);
  const agent = spawnAgent(['--config', join(dir, 'config.yaml')]);
  t.teardown(async () => {
    agent.kill();
    await agent.exited;
    await run('umount', [out]).catch(() => run('umount', ['-l', out]));
    await cleanup();
  });

  const holds = async (value: string): Promise<boolean> =>
    (await readFile(join(out, 'a.env'), 'utf8').catch(() => '')) === `A='${value}'\n` && (await readFile(join(out, 'b.env'), 'utf8').catch(() => '')) === `B='${value}'\n`;
  const free = async (): Promise<number> => {
    const stats = await statfs(out);
    return stats.bfree * stats.bsize;
  };
  const rounds = 5;
  const after: Array<{ temps: string[]; free: number }> = [];
  for (let round = 0; round <= rounds; round++) {
    const value = `pw-${round}`;
    if (round > 0) {
      await writeFile(join(dir, 'in/secrets.yaml.new'), `app:\n  password: "${value}"\n`);
      await rename(join(dir, 'in/secrets.yaml.new'), join(dir, 'in/secrets.yaml'));
    }
    t.true(await until(() => holds(value)), `round ${round}: both small files hold ${value}\n${agent.stderr()}`);
    // A cycle ends after the one that wrote them (a retry: the big template failed), so that one tried the big file.
    const cycles = (): number => agent.lines().filter((line) => String(line['msg']).startsWith('cycle (')).length;
    const seen = cycles();
    t.true(await until(() => cycles() > seen), agent.stderr());
    after.push({ temps: await tempFiles(out), free: await free() });
  }

  const lines = agent.lines();
  const failures = lines.filter((line) => line['level'] === 'error' && line['code'] !== undefined);
  const cycles = lines.filter((line) => String(line['msg']).startsWith('cycle ('));
  t.log(`${cycles.length} cycles (${rounds} secret changes plus retries): ${failures.length} errors; free space after each round: ${after.map((entry) => entry.free).join(', ')} of ${VOLUME} bytes`);
  t.true(failures.length >= rounds + 1, 'the big template fails in every cycle');
  for (const failure of failures) {
    t.is(failure['code'], 'ERR_WRITE');
    t.is(failure['path'], join(out, 'big.json'), String(failure['msg']));
    t.is(failure['errno'], 'ENOSPC');
    t.regex(String(failure['msg']), new RegExp(`^write ${join(out, 'big.json')}: .*ENOSPC`));
  }
  for (const cycle of cycles) t.true(cycle['failed'] === 1, `only the big template fails: ${String(cycle['msg'])}`);
  for (const [round, entry] of after.entries()) {
    t.deepEqual(entry.temps, [], `no temp file after round ${round}`);
    t.true(entry.free > VOLUME - 64 * 1024, `round ${round}: the volume is not left full (${entry.free} bytes free)`);
  }
  await t.throwsAsync(readFile(join(out, 'big.json')));
});
