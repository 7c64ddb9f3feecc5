// The shipped examples as the example tests read them: where they are, the Kubernetes example's ConfigMaps, and a
// rendered .env read back with Node's own parser.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { root } from '../helpers/cli.js';

export const examples = join(root, 'examples');

export const readEnvFile = async (path: string): Promise<Record<string, string | undefined>> => parseEnv(await readFile(path, 'utf8'));

/** The Kubernetes example's ConfigMaps (or those of `file`, below examples/): the agent config text and the templates, by key. */
export async function kubernetesConfigMaps(file = 'kubernetes/configmap.yaml'): Promise<{ config: string; templates: Record<string, string> }> {
  const docs = parseAllDocuments(await readFile(join(examples, file), 'utf8')).map((doc) => doc.toJS() as { metadata: { name: string }; data: Record<string, string> });
  const byName = (name: string) => docs.find((doc) => doc.metadata.name === name)?.data ?? {};
  return { config: byName('api-server-secrets-agent')['secrets-agent.yaml'] ?? '', templates: byName('api-server-templates') };
}
