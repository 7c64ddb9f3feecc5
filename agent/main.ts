#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=25
// The entry point: the only place that reads the real argv and environment and calls process.exit.
import * as nodeModule from 'node:module';

// On Node >= 22.1 (the image runs 26), V8's compiled code is cached on disk and reused by the next start:
// module loading is most of a cold start (docs/benchmarks.md). The cache goes to NODE_COMPILE_CACHE, else the
// temp directory; where neither is writable Node carries on without it. Node 20 has no such API.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// stderr carries log lines only: Node's own warnings (the AWS SDK emits one on Node 20) go through the logger,
// in its format, once each.
const { captureProcessWarnings } = await import('./log/warnings.js');
captureProcessWarnings((line) => process.stderr.write(line));

// Imported after the cache is on, so the whole program is loaded through it.
const { runCli } = await import('./cli/program.js');
const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
});
process.exit(code);
