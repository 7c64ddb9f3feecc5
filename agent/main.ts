#!/usr/bin/env node
// The entry point: the only place that reads the real argv and environment and calls process.exit.
import { runCli } from './cli/program.js';

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
});
process.exit(code);
