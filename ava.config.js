// ava's configuration. `npm test` runs ava twice: every test file except the solo ones, then the solo ones on their
// own (SECRETS_AGENT_SOLO_TESTS=1). A solo test measures the agent's own latency on a busy machine; run beside the
// suite's I/O-heavy fault tests (kill -9 loops, fsync storms, generation swaps) its probes measured the test
// runner's neighbours instead: docs/testing.md "Solo tests".
import process from 'node:process';

const solo = ['test/faults/templates-liveness.test.ts'];

export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  files: process.env['SECRETS_AGENT_SOLO_TESTS'] === '1' ? solo : ['test/**/*.test.ts', ...solo.map((file) => `!${file}`)],
  timeout: '60s',
  workerThreads: false,
};
