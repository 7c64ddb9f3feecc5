// Hostile templates through the real `secrets-agent once` (docs/templates.md "Quotes around {{x}} are refused",
// "Validate before write", "Limits", "Hostile templates"): each one first exists in a harmless version that renders,
// then is replaced by its hostile version. The run must exit 1, the message must name the template file and line,
// the file written by the harmless version must keep its bytes, and no secret value may reach stderr or stdout.
// Needs `npm run build` (npm test runs it first).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { cli, logLines, scratch } from '../helpers/cli.js';

const marker = 'TOPSECRET';
// Every value carries the marker, so any value in the output is caught.
const secrets = [
  'app:',
  `  k: "${marker}-k"`,
  `  db_user: '${marker}-bob", "admin": true, "x": "'`,
  `  y: "${marker}-bob\\nadmin: true"`,
  `  role: "${marker}-bob\\nrole: admin"`,
  `  lone: "${marker}-\\ud800-lone"`,
  '  m:',
  `    a: "${marker}-a"`,
  `    b: "${marker}-b"`,
  '',
].join('\n');
const config = 'templates: ./templates\noutput: ./out\nbackend: file\nfile:\n  path: ./secrets.yaml\n';

interface Case {
  /** Template file name; the destination is the name without `.hbs` unless the front matter says otherwise. */
  readonly name: string;
  readonly destination?: string;
  /** A version that renders. */
  readonly good: string;
  readonly hostile: string;
  readonly code: string;
  /** The line the message must name (`name:line:`), or undefined when the whole file is at fault (its size). */
  readonly line: number | undefined;
  readonly message: RegExp;
}

const docker = '---\nformat: docker\ndestination: docker.env\n---\n';

/**
 * `secrets-agent once --config <file>`, killed after 60 s: a template that loops for ever (as 64 nested #each did
 * before the render budget) must fail the test, not leave a process behind.
 */
function once(config: string): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'once', '--config', config], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : (error.signal ?? 'error')) : 0, stdout, stderr });
    });
  });
}

/** Render the good versions, swap in the hostile ones, run once again and check every case. */
async function corpus(t: ExecutionContext, cases: readonly Case[]): Promise<void> {
  // Why: one scratch directory and two runs per group keeps the test to a few processes on a shared machine.
  const { dir, cleanup } = await scratch({
    'secrets-agent.yaml': config,
    'secrets.yaml': secrets,
    ...Object.fromEntries(cases.map((c) => [`templates/${c.name}`, c.good])),
  });
  t.teardown(cleanup);
  const first = await once(join(dir, 'secrets-agent.yaml'));
  t.is(first.code, 0, first.stderr);
  const destination = (c: Case): string => join(dir, 'out', c.destination ?? c.name.replace(/\.hbs$/, ''));
  const before = new Map<string, Buffer>();
  for (const c of cases) before.set(c.name, await readFile(destination(c)));
  for (const c of cases) await writeFile(join(dir, 'templates', c.name), c.hostile);

  const result = await once(join(dir, 'secrets-agent.yaml'));
  t.is(result.code, 1, result.stderr);
  const errors = logLines(result.stderr).filter((line) => line['level'] === 'error' || line['level'] === 50);
  for (const c of cases) {
    const where = c.line === undefined ? `${c.name}: ` : `${c.name}:${c.line}: `;
    const entry = errors.find((line) => String(line['msg']).includes(where));
    t.truthy(entry, `${c.name}: no error naming "${where}" in:\n${result.stderr}`);
    if (entry) {
      t.is(entry['code'], c.code, `${c.name}: ${String(entry['msg'])}`);
      t.regex(String(entry['msg']), c.message, c.name);
    }
    t.deepEqual(await readFile(destination(c)), before.get(c.name), `${c.name}: the previous file must keep its bytes`);
  }
  t.false(result.stderr.includes(marker), 'a secret value reached stderr');
  t.false(result.stdout.includes(marker), 'a secret value reached stdout');
}

test.serial('nesting, size and expression count are refused before Handlebars parses the template', async (t) => {
  await corpus(t, [
    { name: 'deep.txt.hbs', good: 'x\n', hostile: `x\n${'{{#if true}}'.repeat(7000)}y${'{{/if}}'.repeat(7000)}`, code: 'ERR_TEMPLATE_LIMIT', line: 2, message: /blocks nest deeper than 64 levels/ },
    { name: 'chain.txt.hbs', good: 'x\n', hostile: `{{#if a}}${'{{else if b}}'.repeat(7000)}{{/if}}`, code: 'ERR_TEMPLATE_LIMIT', line: 1, message: /level 65/ },
    { name: 'big.txt.hbs', good: 'x\n', hostile: 'x'.repeat(1024 * 1024 + 1), code: 'ERR_TEMPLATE_LIMIT', line: undefined, message: /the template is 1048577 bytes, over the limit of 1 MiB/ },
    { name: 'many.txt.hbs', good: 'x\n', hostile: '{{secret "app/k"}}\n'.repeat(50_001), code: 'ERR_TEMPLATE_LIMIT', line: 50_001, message: /more than 50000/ },
    { name: 'loops.txt.hbs', good: 'x\n', hostile: `x\n${'{{#each (secrets "app/m")}}'.repeat(64)}z${'{{/each}}'.repeat(64)}`, code: 'ERR_TEMPLATE_LIMIT', line: 2, message: /helper calls and #each iterations/ },
  ]);
});

test.serial('raw values that add or repeat keys in JSON and YAML are refused, naming the line of the raw value', async (t) => {
  await corpus(t, [
    {
      name: 'user.json.hbs',
      good: '{"admin": false,\n "user": {{secret "app/k"}} }\n',
      hostile: '{"admin": false,\n "user": "{{{secret "app/db_user"}}}"}\n',
      code: 'ERR_OUTPUT_INVALID',
      line: 2,
      message: /the output holds the key "admin" twice/,
    },
    { name: 'dup.yaml.hbs', good: 'admin: false\nuser: {{secret "app/k"}}\n', hostile: 'admin: false\nuser: {{{secret "app/y"}}}\n', code: 'ERR_OUTPUT_INVALID', line: 2, message: /the output holds the key "admin" twice/ },
    { name: 'add.yaml.hbs', good: 'admin: false\nuser: {{secret "app/k"}}\n', hostile: 'admin: false\nuser: {{{secret "app/role"}}}\n', code: 'ERR_OUTPUT_INVALID', line: 2, message: /1 key the template did not write/ },
  ]);
});

test.serial('a {{x}} wrapped in quotes the template wrote is refused in every format', async (t) => {
  const advice = /drop the quotes: \{\{x\}\} quotes itself/;
  await corpus(t, [
    { name: 'dq.env.hbs', good: 'A={{secret "app/k"}}\n', hostile: 'A="{{secret "app/k"}}"\n', code: 'ERR_TEMPLATE_QUOTED', line: 1, message: advice },
    { name: 'sq.env.hbs', good: 'X=1\nA={{secret "app/k"}}\n', hostile: "X=1\nA='{{secret \"app/k\"}}'\n", code: 'ERR_TEMPLATE_QUOTED', line: 2, message: advice },
    { name: 'dq.sh.hbs', good: 'A={{secret "app/k"}}\n', hostile: 'A="{{secret "app/k"}}"\n', code: 'ERR_TEMPLATE_QUOTED', line: 1, message: advice },
    { name: 'sq.sh.hbs', good: 'A={{secret "app/k"}}\n', hostile: "A='{{secret \"app/k\"}}'\n", code: 'ERR_TEMPLATE_QUOTED', line: 1, message: advice },
    { name: 'd.hbs', destination: 'docker.env', good: `${docker}A={{secret "app/k"}}\n`, hostile: `${docker}A="{{secret "app/k"}}"\n`, code: 'ERR_TEMPLATE_QUOTED', line: 5, message: advice },
    { name: 'dq.yaml.hbs', good: 'c: {{secret "app/k"}}\n', hostile: 'c: "{{secret "app/k"}}"\n', code: 'ERR_TEMPLATE_QUOTED', line: 1, message: advice },
    { name: 'sq.yaml.hbs', good: 'c: {{secret "app/k"}}\n', hostile: "c: '{{secret \"app/k\"}}'\n", code: 'ERR_TEMPLATE_QUOTED', line: 1, message: advice },
    { name: 'q.json.hbs', good: '{\n  "k": {{secret "app/k"}}\n}\n', hostile: '{\n  "k": "{{secret "app/k"}}"\n}\n', code: 'ERR_TEMPLATE_QUOTED', line: 2, message: advice },
    { name: 'block.env.hbs', good: 'A={{secret "app/k"}}\n', hostile: 'A="{{#if true}}{{secret "app/k"}}{{/if}}"\n', code: 'ERR_TEMPLATE_QUOTED', line: 1, message: advice },
  ]);
});

test.serial('prototype access, partials, decorators and log are refused with the line', async (t) => {
  await corpus(t, [
    { name: 'ctor.txt.hbs', good: 'x\n', hostile: 'x\n{{constructor.constructor}}\n', code: 'ERR_TEMPLATE_PARSE', line: 2, message: /"constructor" is a prototype property/ },
    { name: 'proto.txt.hbs', good: 'x\n', hostile: '{{#with (secrets "app/m")}}\n{{__proto__.a}}{{/with}}\n', code: 'ERR_TEMPLATE_PARSE', line: 2, message: /"__proto__" is a prototype property/ },
    { name: 'lookup.txt.hbs', good: 'x\n', hostile: '{{#with (secrets "app/m")}}{{lookup this "constructor"}}{{/with}}\n', code: 'ERR_TEMPLATE_PARSE', line: 1, message: /"constructor" is a prototype property/ },
    { name: 'partial.txt.hbs', good: 'x\n', hostile: 'x\n\n{{> other}}\n', code: 'ERR_TEMPLATE_PARSE', line: 3, message: /partials are not supported/ },
    { name: 'pblock.txt.hbs', good: 'x\n', hostile: '{{#> layout}}{{secret "app/k"}}{{/layout}}\n', code: 'ERR_TEMPLATE_PARSE', line: 1, message: /partials are not supported/ },
    // A value helper as a block: Handlebars would append the value unencoded (a newline in it adds an .env key).
    { name: 'vblock.env.hbs', good: 'A={{secret "app/k"}}\n', hostile: 'A=1\nB={{#secret "app/k"}}{{/secret}}\n', code: 'ERR_TEMPLATE_PARSE', line: 2, message: /\{\{#secret\}\} is not a block helper/ },
    { name: 'inline.txt.hbs', good: 'x\n', hostile: '{{#*inline "p"}}{{secret "app/k"}}{{/inline}}\n', code: 'ERR_TEMPLATE_PARSE', line: 1, message: /decorators are not supported/ },
    { name: 'log.txt.hbs', good: 'x\n', hostile: '{{log (secret "app/k")}}\n', code: 'ERR_TEMPLATE_PARSE', line: 1, message: /unknown helper "log"/ },
  ]);
});

test.serial('a lone surrogate is refused in format raw too, naming the line and the path', async (t) => {
  await corpus(t, [
    { name: 'key.pem.hbs', good: 'x\n{{secret "app/k"}}\n', hostile: 'x\n{{secret "app/lone"}}\n', code: 'ERR_ENCODE_REFUSED', line: 2, message: /secret "app\/lone": .*unpaired UTF-16 surrogate/ },
    { name: 'raw.json.hbs', good: '{"a": {{secret "app/k"}} }\n', hostile: '{"a": "{{{secret "app/lone"}}}"}\n', code: 'ERR_ENCODE_REFUSED', line: 1, message: /unpaired UTF-16 surrogate/ },
  ]);
});

test.serial('check reports quotes, limits and prototype names from the template text, without reading a secret', async (t) => {
  const { dir, cleanup } = await scratch({
    'templates/dq.env.hbs': 'X=1\nA="{{secret "app/k"}}"\n',
    'templates/deep.txt.hbs': `${'{{#if true}}'.repeat(7000)}${'{{/if}}'.repeat(7000)}`,
    'templates/ctor.txt.hbs': '{{constructor.constructor}}\n',
    'templates/ok.env.hbs': 'A={{secret "app/k"}}\n',
  });
  t.teardown(cleanup);
  const result = await new Promise<{ code: number | string; stdout: string }>((resolve) => {
    // No secrets file: check must not need one to find these.
    execFile(process.execPath, [cli, 'check', '--templates', join(dir, 'templates'), '--output', join(dir, 'out'), '--backend', 'file'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : (error.signal ?? 'error')) : 0, stdout });
    });
  });
  t.is(result.code, 1, result.stdout);
  t.regex(result.stdout, /dq\.env\.hbs:2: \{\{secret "app\/k"\}\} is wrapped in " quotes the template wrote; drop the quotes: \{\{x\}\} quotes itself/);
  t.regex(result.stdout, /deep\.txt\.hbs:1: blocks nest deeper than 64 levels/);
  t.regex(result.stdout, /ctor\.txt\.hbs:1: "constructor" is a prototype property/);
  t.regex(result.stdout, /3 problems/);
});

test.serial('a template large enough to be prepared on the worker thread renders exactly like a small one', async (t) => {
  const lines = (n: number): string => Array.from({ length: n }, (_, i) => `K${i}={{secret "app/k"}}\n{{#each (secrets "app/m")}}{{envName @key}}_${i}={{this}}\n{{/each}}`).join('');
  const { dir, cleanup } = await scratch({ 'secrets-agent.yaml': config, 'secrets.yaml': secrets, 'templates/small.env.hbs': lines(2), 'templates/large.env.hbs': lines(300) });
  t.teardown(cleanup);
  const result = await once(join(dir, 'secrets-agent.yaml'));
  t.is(result.code, 0, result.stderr);
  const small = await readFile(join(dir, 'out/small.env'), 'utf8');
  const large = await readFile(join(dir, 'out/large.env'), 'utf8');
  t.is(small, `K0='${marker}-k'\nA_0='${marker}-a'\nB_0='${marker}-b'\nK1='${marker}-k'\nA_1='${marker}-a'\nB_1='${marker}-b'\n`);
  t.is(large.split('\n').length, 300 * 3 + 1);
  t.true(large.startsWith(small));
});
