// The output directory is a real directory, the same one at every cycle as at start (docs/operations.md "The output
// directory"): `--output` naming a symlink is refused before anything is written, and a directory replaced while
// `run` runs — by a symlink to another directory, or by another directory — is refused at the next cycle, reloads
// included, with nothing written into the other directory.
import { mkdir, readFile, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { runCli, scratch } from '../helpers/cli.js';
import { spawnAgent, tempFiles, until } from './writer-agent.js';
import type { WriterAgent } from './writer-agent.js';

const config = ['templates: ./templates', 'backend: file', 'file:', '  path: ./in/secrets.yaml', 'listen: ""', 'schedule: "0 0 1 1 *"', 'splay: 0s', 'retry: { min: 100ms, max: 400ms }', ''].join('\n');
const files = {
  'config.yaml': config,
  'in/secrets.yaml': 'app:\n  password: "pw-1"\n',
  'templates/app.env.hbs': 'PASSWORD={{secret "app/password"}}\n',
  'templates/db.json.hbs': '---\ndestination: sub/db.json\n---\n{"password": {{secret "app/password"}} }\n',
};

async function setSecret(dir: string, value: string): Promise<void> {
  await writeFile(join(dir, 'in/secrets.yaml.new'), `app:\n  password: "${value}"\n`);
  await rename(join(dir, 'in/secrets.yaml.new'), join(dir, 'in/secrets.yaml'));
}

test('an --output that is a symlink is refused by once and by run, naming it, and nothing is written in its target', async (t) => {
  const { dir, cleanup } = await scratch(files);
  t.teardown(cleanup);
  await mkdir(join(dir, 'target'));
  await symlink(join(dir, 'target'), join(dir, 'link'));
  const link = join(dir, 'link');
  const expected = `output directory ${link} refused: it is a symlink to ${join(dir, 'target')}; the agent writes only into a real directory, never through a link: set output to the directory itself`;

  const once = await runCli(['once', '--config', join(dir, 'config.yaml'), '--output', link]);
  t.is(once.code, 1, once.stderr);
  t.true(once.stderr.includes(expected), once.stderr);

  const agent = spawnAgent(['--config', join(dir, 'config.yaml'), '--output', link]);
  t.teardown(() => {
    agent.kill();
  });
  t.is(await agent.exited, 1, agent.stderr());
  t.true(agent.stderr().includes(expected), agent.stderr());
  t.deepEqual(await readdir(join(dir, 'target')), []);
});

for (const replacement of ['a symlink to another directory', 'another directory'] as const) {
  test(`an output directory replaced by ${replacement} while run runs is refused at the next cycle and after SIGHUP; nothing is written there`, async (t) => {
    const { dir, cleanup } = await scratch(files);
    t.teardown(cleanup);
    const out = join(dir, 'out');
    const other = join(dir, 'other');
    await mkdir(other);
    const agent: WriterAgent = spawnAgent(['--config', join(dir, 'config.yaml'), '--output', out]);
    t.teardown(() => {
      agent.kill();
    });
    const holds = async (base: string, value: string): Promise<boolean> =>
      (await readFile(join(base, 'app.env'), 'utf8').catch(() => '')) === `PASSWORD='${value}'\n` && (await readFile(join(base, 'sub/db.json'), 'utf8').catch(() => '')) === `{"password": "${value}" }\n`;
    t.true(await until(() => holds(out, 'pw-1')), agent.stderr());

    await rename(out, join(dir, 'out.before'));
    if (replacement === 'another directory') await mkdir(out);
    else await symlink(other, out);
    const target = replacement === 'another directory' ? out : other;
    await setSecret(dir, 'pw-2');
    const refusals = (): Array<Record<string, unknown>> => agent.lines().filter((line) => line['code'] === 'ERR_OUTPUT_DIR');
    t.true(await until(() => refusals().length >= 4), `the cycle and its retry refuse (two templates each)\n${agent.stderr()}`);
    const now = replacement === 'another directory' ? 'another directory, device:inode ' : `a symlink to ${other})`;
    for (const refusal of refusals()) {
      t.is(refusal['level'], 'error');
      t.is(refusal['path'], out);
      t.true(String(refusal['msg']).startsWith(`output directory ${out} refused: it is no longer the directory the agent started with (now ${now}`), String(refusal['msg']));
    }

    // A reload keeps the pin: the same output path, so the same directory or nothing.
    const before = refusals().length;
    agent.child.kill('SIGHUP');
    t.true(await until(() => agent.lines().some((line) => String(line['msg']).startsWith('reload rejected, the running configuration stays: output directory'))), agent.stderr());
    t.true(await until(() => refusals().length > before + 1), 'still refused after the reload');

    t.deepEqual(await readdir(target), [], `nothing was written into ${target}`);
    t.true(await holds(join(dir, 'out.before'), 'pw-1'), 'the pinned directory, moved away, was not written either');
    t.deepEqual(await tempFiles(join(dir, 'out.before')), []);
    t.is(agent.child.exitCode, null, 'the agent keeps running, and keeps refusing');
  });
}
