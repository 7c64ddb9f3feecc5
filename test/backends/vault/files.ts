// Credential files in a temp directory (role id, secret id, JWT, token), rewritten by tests between logins.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export interface CredentialFiles {
  readonly dir: string;
  path(name: string): string;
  write(name: string, content: string): Promise<void>;
  remove(): Promise<void>;
}

/** A temp directory holding one file per entry, removed when the test `t` ends. */
export async function credentialFiles(t: ExecutionContext, initial: Record<string, string>): Promise<CredentialFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'sa-vault-'));
  const files: CredentialFiles = {
    dir,
    path: (name) => join(dir, name),
    write: (name, content) => writeFile(join(dir, name), content),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  t.teardown(() => files.remove());
  for (const [name, content] of Object.entries(initial)) await files.write(name, content);
  return files;
}
