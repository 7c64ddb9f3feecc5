// The docs' command lines as a new user runs them from a fresh clone: every shell line runs after
// `npm ci && npm run build`, and nothing sources a dotenv file into a shell (docs/templates.md).
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { spawn } from 'node:child_process';
import { parseEnv } from 'node:util';
import test from 'ava';
import { parse } from 'yaml';
import { formatFromDestination } from '../../agent/template/formats.js';
import { root, runCli, scratch } from '../helpers/cli.js';
import { examples, kubernetesConfigMaps, readEnvFile } from './example-files.js';

/** The Markdown files a user reads for commands: README.md, every docs/*.md page, every examples README. */
async function markdownDocs(): Promise<string[]> {
  const docsDir = join(root, 'docs');
  const pages = (await readdir(docsDir)).filter((name) => name.endsWith('.md')).map((name) => join(docsDir, name));
  const readmes = (await readdir(examples, { recursive: true })).filter((name) => basename(name) === 'README.md' && !name.split(sep).includes('out')).map((name) => join(examples, name));
  return [join(root, 'README.md'), ...pages, ...readmes].sort();
}

/** Every text file of the examples (scripts, manifests, env files, READMEs), rendered `out/` folders excluded. */
async function exampleFiles(): Promise<string[]> {
  const entries = await readdir(examples, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !relative(examples, path).split(sep).includes('out')).sort();
}

interface CodeBlock {
  readonly lang: string;
  /** The block's lines with their 1-based line numbers in the file. */
  readonly lines: ReadonlyArray<{ readonly line: number; readonly text: string }>;
}

/** The fenced code blocks of a Markdown text. */
function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: { fence: string; lang: string; lines: Array<{ line: number; text: string }> } | undefined;
  markdown.split('\n').forEach((text, index) => {
    const fence = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(text);
    if (open === undefined) {
      if (fence) open = { fence: fence[1] ?? '```', lang: (fence[2] ?? '').toLowerCase(), lines: [] };
    } else if (fence && text.trim().startsWith(open.fence) && text.trim().replace(/[`~]/g, '') === '') {
      blocks.push({ lang: open.lang, lines: open.lines });
      open = undefined;
    } else open.lines.push({ line: index + 1, text });
  });
  return blocks;
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'shell-session', 'zsh']);

/**
 * The command lines of a shell code block: in `console` blocks only the `$ ` prompt lines (the rest is output),
 * elsewhere every line that is no comment; the prompt is removed.
 */
function commandLines(block: CodeBlock): Array<{ line: number; text: string }> {
  const prompted = block.lang === 'console' || block.lang === 'shell-session';
  return block.lines.flatMap(({ line, text }) => {
    const trimmed = text.trim();
    if (prompted) return trimmed.startsWith('$ ') ? [{ line, text: trimmed.slice(2) }] : [];
    if (trimmed === '' || trimmed.startsWith('#')) return [];
    return [{ line, text: trimmed.replace(/^\$ /, '') }];
  });
}

/** `secrets-agent` as the command of a line or of one of its pipeline or list parts, after `VAR=value` words. */
const BARE_COMMAND = /(?:^|\||&&|;|\$\(|`)\s*(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|\S)*\s+)*secrets-agent(?=\s|$)/;

test('every shell command line of the docs and examples runs after npm ci && npm run build: npx secrets-agent, never a bare secrets-agent', async (t) => {
  const bare: string[] = [];
  let scanned = 0;
  for (const file of await markdownDocs()) {
    for (const block of codeBlocks(await readFile(file, 'utf8')).filter((entry) => SHELL_LANGS.has(entry.lang))) {
      for (const { line, text } of commandLines(block)) {
        scanned += 1;
        if (BARE_COMMAND.test(text)) bare.push(`${relative(root, file)}:${line}: ${text}`);
      }
    }
  }
  t.true(scanned > 50, `${scanned} command lines scanned`);
  t.deepEqual(bare, [], `secrets-agent is not on PATH after npm ci; write "npx secrets-agent ..." (or "node dist/agent/main.js ...") in:\n${bare.join('\n')}`);
  // npx finds the command through the package's own bin, built by npm run build.
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  const bin = manifest.bin?.['secrets-agent'];
  t.is(bin, 'dist/agent/main.js');
  // The bin starts node with the product's V8 setting (docs/docker.md "Memory and start-up").
  t.regex((await readFile(join(root, bin ?? '-'), 'utf8')).split('\n')[0] ?? '', /^#!\/usr\/bin\/env -S node --max-semi-space-size=1 --heap-growing-percent=25$/);
});

/** Destination basename → the formats it has in the examples' and the stock templates (front matter, else extension). */
async function destinationFormats(): Promise<Map<string, Set<string>>> {
  const templates: Array<[string, string]> = [];
  for (const dir of [join(root, 'templates'), ...(await readdir(examples)).map((name) => join(examples, name, 'templates'))]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((entry) => entry.endsWith('.hbs'))) templates.push([name, await readFile(join(dir, name), 'utf8')]);
  }
  templates.push(...Object.entries((await kubernetesConfigMaps()).templates));
  const formats = new Map<string, Set<string>>();
  for (const [name, text] of templates) {
    const front = /^---\n([\s\S]*?)\n---\n/.exec(text)?.[1];
    const meta = (front === undefined ? {} : parse(front) ?? {}) as { destination?: string; format?: string };
    const destination = basename(meta.destination ?? name.replace(/\.hbs$/, ''));
    const format = meta.format ?? formatFromDestination(destination);
    formats.set(destination, (formats.get(destination) ?? new Set()).add(format));
  }
  return formats;
}

/** The files a line hands to a shell to run as shell code: `. FILE`, `source FILE`, `eval "$(cat FILE)"`, `export $(cat FILE ...)`. */
function sourcedFiles(line: string): string[] {
  const files: string[] = [];
  for (const match of line.matchAll(/(?:^|[\s;&|({`])(?:\.|source)\s+(['"]?)([^\s;&|)`'"]+)\1/g)) files.push(match[2] ?? '');
  for (const match of line.matchAll(/(?:\beval\b|\bexport\s+\$\().*?\bcat\s+(['"]?)([^\s;&|)`'"]+)\1/g)) files.push(match[2] ?? '');
  return files.filter((file) => file !== '' && !file.startsWith('-'));
}

test('no doc or example sources a dotenv file into a shell: sourcing is for a format: shell file', async (t) => {
  const formats = await destinationFormats();
  const formatsOf = (file: string): Set<string> => formats.get(basename(file)) ?? new Set([formatFromDestination(basename(file))]);
  const wrong: string[] = [];
  const sourced: string[] = [];
  for (const file of [...(await markdownDocs()), ...(await exampleFiles()).filter((path) => !path.endsWith('README.md'))]) {
    (await readFile(file, 'utf8')).split('\n').forEach((text, index) => {
      for (const target of sourcedFiles(text)) {
        sourced.push(target);
        const kinds = [...formatsOf(target)].filter((format) => format === 'dotenv' || format === 'docker');
        if (kinds.length > 0) wrong.push(`${relative(root, file)}:${index + 1}: sources ${target} (${kinds.join(', ')}): ${text.trim()}`);
      }
    });
  }
  t.true(sourced.length > 0);
  t.deepEqual(wrong, [], `a shell expands $, \` and \\ inside the double quotes a dotenv file uses; render a format: shell file (a .sh destination) and source that:\n${wrong.join('\n')}`);
  // The env-only example is the one that shows sourcing: what its README sources is a format: shell template's file.
  const readme = await readFile(join(examples, 'env-only/README.md'), 'utf8');
  const shown = codeBlocks(readme).filter((block) => SHELL_LANGS.has(block.lang)).flatMap(commandLines).flatMap(({ text }) => sourcedFiles(text));
  const ownShell = new Set<string>();
  for (const name of (await readdir(join(examples, 'env-only/templates'))).filter((entry) => entry.endsWith('.hbs'))) {
    const front = parse(/^---\n([\s\S]*?)\n---\n/.exec(await readFile(join(examples, 'env-only/templates', name), 'utf8'))?.[1] ?? '') as { destination?: string; format?: string } | null;
    if (front?.format === 'shell') ownShell.add(basename(front.destination ?? name.replace(/\.hbs$/, '')));
  }
  t.true(shown.some((file) => ownShell.has(basename(file))), `env-only/README.md sources ${shown.join(', ') || 'nothing'}; it should source the file of its format: shell template (${[...ownShell].join(', ') || 'none yet'})`);
});

test('the env-only example renders a shell file that /bin/sh sources back to the exact values, $ and quotes included', async (t) => {
  const env = parseEnv(await readFile(join(examples, 'env-only/example.env'), 'utf8')) as Record<string, string>;
  const secretKey = env['DJANGO_SECRET_KEY'] ?? '';
  t.regex(secretKey, /\$[A-Za-z]/, 'the fake secret key holds a $ that a shell would expand');
  t.regex(secretKey, /['"]/, 'and a quote');
  const { dir, cleanup } = await scratch({});
  t.teardown(cleanup);
  const result = await runCli(['once', '--config', 'examples/env-only/secrets-agent.yaml', '--output', dir], { env });
  t.is(result.code, 0, result.stderr);
  const expected = { SECRET_KEY: secretKey, BINANCE_API_KEY: env['DSTA_BINANCE_API_KEY'], BINANCE_API_SECRET: env['DSTA_BINANCE_API_SECRET'], SLACK_WEBHOOK_URL: '' };
  t.deepEqual(await readEnvFile(join(dir, 'app.env')), expected, 'the dotenv file, read by a dotenv parser');
  const shellFiles = (await readdir(dir)).filter((name) => name.endsWith('.sh'));
  t.deepEqual(shellFiles, ['app.sh']);
  // What the README does, set -a; . FILE; set +a, in a shell whose environment is only PATH; then env -0 lists it.
  const sourced = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'set -a; . "$1"; set +a; exec env -0', 'sh', join(dir, 'app.sh')], { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  t.is(sourced.code, 0, sourced.stderr);
  t.is(sourced.stderr, '');
  const all = new Map(sourced.stdout.split('\0').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const values = Object.fromEntries(Object.keys(expected).map((name) => [name, all.get(name)]));
  t.deepEqual(values, expected);
});
