// Read a written env file back with each REAL consumer (or, for docker, a faithful model), so tests compare what
// applications will actually see. Each returns the variables the file defines, or throws when the consumer fails.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseEnv } from 'node:util';
import dotenv from 'dotenv';

export type EnvRecord = Record<string, string>;

const run = promisify(execFile);

// Debian's python3 (the PATH one is pyenv); python3-dotenv 0.21. Interpolation on, as load_dotenv does; any warning
// (python-dotenv skips lines it cannot parse and logs them) or a key without a value is a failure.
const pythonScript = `
import json, logging, sys
from dotenv import dotenv_values
class Collect(logging.Handler):
    def __init__(self):
        super().__init__(); self.messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())
handler = Collect()
logging.getLogger("dotenv").addHandler(handler)
logging.getLogger("dotenv").propagate = False
out = []
for path in sys.argv[1:]:
    handler.messages = []
    try:
        values = dict(dotenv_values(path, interpolate=True, encoding="utf-8"))
        missing = [k for k, v in values.items() if v is None]
        if handler.messages: out.append({"error": "; ".join(handler.messages)})
        elif missing: out.append({"error": "keys without a value: " + ", ".join(missing)})
        else: out.append({"ok": values})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`;

/** python-dotenv's dotenv_values for several files in one interpreter; an Error in place of each file it fails on. */
export async function pythonDotenvMany(files: readonly string[]): Promise<(EnvRecord | Error)[]> {
  // Why: one interpreter per file costs ~100 ms; the corpus has hundreds of files.
  if (files.length === 0) return [];
  const { stdout } = await run('/usr/bin/python3', ['-c', pythonScript, ...files], {
    env: { HOME: '/nonexistent-home', LANG: 'C.UTF-8', PATH: '/usr/bin:/bin' },
    maxBuffer: 256 * 1024 * 1024,
  });
  const results = JSON.parse(stdout) as ({ ok: EnvRecord } | { error: string })[];
  return results.map((r) => ('ok' in r ? r.ok : new Error(`python-dotenv: ${r.error}`)));
}

/** python-dotenv's dotenv_values for one file. */
export async function pythonDotenv(file: string): Promise<EnvRecord> {
  // Why: the single-file form for tests that read one file.
  const [result] = await pythonDotenvMany([file]);
  if (result === undefined) throw new Error('python-dotenv returned nothing');
  if (result instanceof Error) throw result;
  return result;
}

/** The npm `dotenv` package's parse (its default parser, or the `fast` scanner). */
export function npmDotenv(file: string, options: { fast?: boolean } = {}): EnvRecord {
  // Why: what `require('dotenv').config()` loads; both of its parsers are shipped, so both are checked.
  return { ...dotenv.parse(readFileSync(file), { fast: options.fast === true }) };
}

/** Node's built-in parser, the one behind process.loadEnvFile and --env-file. */
export function nodeParseEnv(file: string): EnvRecord {
  // Why: the parser with the fewest escapes; it decides what dotenv format may emit.
  return Object.fromEntries(Object.entries(parseEnv(readFileSync(file, 'utf8'))).filter((e): e is [string, string] => e[1] !== undefined));
}

const shellScript = 'set -a; . "$1"; env -0';
let shellBaseline: Map<string, EnvRecord> | undefined;

/** `env -i <shell> -c 'set -a; . file; env -0'`: every exported variable, byte-exact, minus what the shell itself sets. */
export async function shellSource(shell: 'sh' | 'bash', file: string): Promise<EnvRecord> {
  // Why: sourcing with set -a is how shell scripts and entrypoints load the file; env -0 keeps newlines intact.
  shellBaseline ??= new Map();
  let baseline = shellBaseline.get(shell);
  if (!baseline) {
    baseline = await sourceWith(shell, '/dev/null');
    shellBaseline.set(shell, baseline);
  }
  const all = await sourceWith(shell, file);
  // PWD, SHLVL and _ come from the shell; drop them unless the file changed their value.
  return Object.fromEntries(Object.entries(all).filter(([k, v]) => baseline[k] !== v));
}

/** Runs the sourcing script and splits `env -0` output into a record. */
async function sourceWith(shell: 'sh' | 'bash', file: string): Promise<EnvRecord> {
  // Why: shared by the baseline run and the real run so both see the same environment.
  const { stdout } = await run('/usr/bin/env', ['-i', shell === 'sh' ? '/bin/sh' : '/bin/bash', '-c', shellScript, shell, file], {
    cwd: '/',
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  const out: EnvRecord = {};
  for (const entry of stdout.toString('utf8').split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

// Go's unicode.IsSpace: the Latin-1 spaces plus Unicode White_Space (not U+FEFF).
const goSpace = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A reimplementation of docker CLI 28.2.2's `--env-file` reader (opts/parse.go parseKeyValueFile); docker cannot run
 * here. bufio.Scanner lines (LF-split, one trailing CR dropped, a line over 65,535 bytes is an error),
 * each line must be valid UTF-8, a BOM is dropped from line 1, leading Unicode whitespace is trimmed, blank and `#`
 * lines are skipped, the key is before the first `=` (no spaces or tabs in it), the value is every byte after it.
 * A line without `=` passes the variable through from `env` when it is set there.
 */
export function dockerEnvFile(file: string, env: Readonly<Record<string, string>> = {}): EnvRecord {
  // Why: the docker format has its own rules (no quoting at all), so it needs its own reader in tests.
  const bytes = readFileSync(file);
  const out: EnvRecord = {};
  let start = 0;
  for (let n = 1; start < bytes.length; n++) {
    const lf = bytes.indexOf(0x0a, start);
    const end = lf === -1 ? bytes.length : lf;
    // The scanner's 64 KiB buffer fills up (ErrTooLong) before it sees a newline or EOF after 65,535 bytes.
    if (end - start > 64 * 1024 - 1) throw new Error(`docker: bufio.Scanner: token too long (line ${n})`);
    let raw = bytes.subarray(start, end);
    start = end + 1;
    if (raw.at(-1) === 0x0d) raw = raw.subarray(0, -1);
    let line: string;
    try {
      line = utf8.decode(raw);
    } catch {
      throw new Error(`docker: env file contains invalid utf8 bytes at line ${n}`);
    }
    if (n === 1 && line.startsWith('\ufeff')) line = line.slice(1);
    line = line.replace(goSpace, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).replace(/^[ \t]+/, '');
    if (/[ \t]/.test(key)) throw new Error(`docker: variable contains whitespaces (line ${n})`);
    if (key === '') throw new Error(`docker: no variable name on line ${n}`);
    if (eq !== -1) out[key] = line.slice(eq + 1);
    else if (env[key] !== undefined) out[key] = env[key];
  }
  return out;
}
