// Run the built CLI as a real child process, as an operator or an init container would.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const cli = join(root, 'dist/agent/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `secrets-agent ...args` with exactly `env` (plus PATH), in `cwd`. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env }, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A scratch directory with the given files (relative path → content); removed by the returned cleanup. */
export async function scratch(files: Record<string, string>): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-e2e-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Parse the JSON log lines a command wrote to stderr. */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}
