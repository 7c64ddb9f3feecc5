// "Could not load credentials from any providers" tells an operator nothing. This spells out what the AWS
// SDK's default chain looked at, in order, with what is set in this process's environment.
import type { CallSite } from './site.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Why: "set"/"not set" is enough to act on, and never prints a key, a token or a role's credentials. */
function state(env: Env, ...names: string[]): string {
  return names.map((name) => `${name} ${env[name] === undefined || env[name] === '' ? 'not set' : 'set'}`).join(', ');
}

/** The message of ERR_NO_CREDENTIALS: every link of the default chain and how to satisfy one of them. */
export function noCredentialsMessage(env: Env, site: CallSite, sdkMessage: string): string {
  const profile = env['AWS_PROFILE'];
  const credentialsFile = env['AWS_SHARED_CREDENTIALS_FILE'] ?? '~/.aws/credentials';
  const configFile = env['AWS_CONFIG_FILE'] ?? '~/.aws/config';
  const imds = env['AWS_EC2_METADATA_DISABLED'];
  const imdsState = imds !== undefined && imds !== '' && imds !== 'false' ? 'skipped: AWS_EC2_METADATA_DISABLED is set' : 'tried, no instance role answered';
  const links = [
    `environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (${profile ? 'skipped because AWS_PROFILE is set' : state(env, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY')})`,
    `shared files: profile "${profile ?? 'default'}" in ${credentialsFile} and ${configFile} (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), including its credential_process, role_arn and sso settings`,
    `web identity (EKS IRSA): ${state(env, 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN')}`,
    `container credentials (ECS task role, EKS Pod Identity): ${state(env, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI')}`,
    `EC2 instance metadata (instance profile): ${imdsState}`,
  ];
  const what = site.secretId === undefined ? `for ${site.operation} in ${site.region}` : `to read secret "${site.secretId}" in ${site.region}`;
  return `aws backend: no AWS credentials ${what} (${sdkMessage || 'the SDK found none'}). The SDK's default chain looked at, in order: ${links.map((link, index) => `(${index + 1}) ${link}`).join('; ')}. Provide one of them: for a pod, IRSA or EKS Pod Identity; on ECS, a task role; elsewhere, a profile or the two variables.`;
}
