#!/usr/bin/env node
// The entry point: the only place that reads the real argv and environment and calls process.exit.
import { runCli } from './cli/program.js';

// stderr carries JSON lines only: Node's own warnings (the AWS SDK emits one on Node 20) become log lines too.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), component: 'node', msg: `${warning.name}: ${warning.message}` })}\n`);
});

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
});
process.exit(code);
