// AWS calls in one cycle: 45 JSON secrets read by 15 templates must cost 3 BatchGetSecretValue (20 + 20 + 5)
// and nothing else, through the real SDK against the emulator.
import { startAwsEmulator } from '../../test/fakes/aws/emulator.js';
import { runOnce } from '../lib/agent.js';
import type { BenchOptions, CaseResult } from '../lib/report.js';
import { fixed, median } from '../lib/stats.js';
import { awsWorkload } from '../lib/workload.js';

const SECRETS = 45;
const TEMPLATES = 15;

export async function awsCalls(options: BenchOptions): Promise<CaseResult> {
  const runs = options.smoke ? 1 : 3;
  const aws = await startAwsEmulator({ region: 'us-east-1' });
  const workload = await awsWorkload(aws, { templates: TEMPLATES, secrets: SECRETS });
  const perRun: Array<Record<string, number>> = [];
  const times: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      for (const key of Object.keys(aws.counters)) aws.counters[key] = 0;
      const result = await runOnce(workload);
      if (result.code !== 0) throw new Error(`secrets-agent once (AWS) exited ${result.code}: ${result.stderr.slice(-2000)}`);
      times.push(result.ms);
      perRun.push({ ...aws.counters });
    }
  } finally {
    await workload.cleanup();
    await aws.close();
  }
  const first = perRun[0] ?? {};
  const batches = first['BatchGetSecretValue'] ?? 0;
  const others = Object.entries(first).filter(([operation, count]) => operation !== 'BatchGetSecretValue' && count > 0);
  const same = perRun.every((counters) => JSON.stringify(counters) === JSON.stringify(first));
  const shown = Object.entries(first).filter(([, count]) => count > 0).map(([operation, count]) => `${count} ${operation}`).join(', ') || 'none';
  return {
    rows: [{
      id: 'aws-calls', figure: 'AWS calls in one cycle', workload: `${SECRETS} secrets (${TEMPLATES} templates)`, target: '3 BatchGetSecretValue',
      measured: `${shown}${same ? '' : ' (differed between runs)'}`, met: options.smoke ? undefined : batches === 3 && others.length === 0 && same,
    }],
    details: `### AWS calls (${SECRETS} secrets)

\`secrets-agent once\` with only AWS configured (\`AWS_REGION\`, \`AWS_ENDPOINT_URL_SECRETS_MANAGER\` → the emulator),
${TEMPLATES} templates reading 3 JSON secrets each (value references \`bench/awsNNNN/key\`), ${runs} runs. Emulator
counters (HTTP requests per operation, SDK retries included) per run: ${perRun.map((counters) => JSON.stringify(counters)).join('; ')}.
Median wall time of the run: ${fixed(median(times), 0)} ms.
`,
  };
}
