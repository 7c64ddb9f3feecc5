// `.secrets-agent/` must be the agent's (agent/store/provenance.ts agentDir): its owner could swap a temp file between
// its fsync and its rename. One made by another user before the agent's first start is refused, naming the uids; the
// output directory's owner is accepted, for mounts that show every file as one uid. Root is needed to chown.
import { chown, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isAgentError } from '../../agent/errors.js';
import { assertSafeTarget } from '../../agent/write/destination.js';
import { ensureOutputDirectory, pinOutputDirectory, unpinOutputDirectory, writeOutputFile } from '../../agent/write/output.js';
import { needing } from '../helpers/cli.js';
import { tempDir } from './tmp.js';

const asRoot = process.getuid?.() === 0 ? undefined : 'chown to another uid needs root';

needing(asRoot)('a .secrets-agent another user made is refused before any temp file goes there; the file keeps serving', async (t) => {
  const out = join(await tempDir(t), 'out');
  await ensureOutputDirectory(out);
  await mkdir(join(out, '.secrets-agent'), { mode: 0o777 });
  await chown(join(out, '.secrets-agent'), 1234, 1234);
  const pin = await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  const why = `it belongs to uid 1234, neither the agent's (0) nor the output directory's owner (0)`;
  t.is(pin.warning, `${join(out, '.secrets-agent')} cannot be used for temp files: ${why}`);
  const path = await assertSafeTarget(out, join(out, 'app.env'));
  const error = await t.throwsAsync(writeOutputFile(out, { path, content: 'API_KEY=s3cr3t\n', mode: 0o600 }));
  t.true(isAgentError(error, 'ERR_WRITE'), String(error));
  t.is(error.message, `write ${path}: create temp file failed: ${join(out, '.secrets-agent')} cannot be used for temp files: ${why}`);
  t.deepEqual(await readdir(join(out, '.secrets-agent')), [], 'no temp file was created in it');
  t.deepEqual(await readdir(out), ['.secrets-agent']);
});

needing(asRoot)('a .secrets-agent owned by the output directory\'s owner is the agent\'s (one-uid mounts)', async (t) => {
  const out = join(await tempDir(t), 'out');
  await ensureOutputDirectory(out);
  await chown(out, 1234, 1234);
  await mkdir(join(out, '.secrets-agent'), { mode: 0o700 });
  await chown(join(out, '.secrets-agent'), 1234, 1234);
  const pin = await pinOutputDirectory(out);
  t.teardown(() => unpinOutputDirectory(out));
  t.is(pin.warning, undefined);
  const path = await assertSafeTarget(out, join(out, 'app.env'));
  t.deepEqual(await writeOutputFile(out, { path, content: 'API_KEY=s3cr3t\n', mode: 0o600 }), { changed: true });
  t.is(await readFile(path, 'utf8'), 'API_KEY=s3cr3t\n');
});
