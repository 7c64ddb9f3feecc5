// Where an AWS call went, shared by the failure classification (failure.ts) and the credentials message
// (credentials.ts) without either importing the other.

/** Where a call went, for messages that name the region and the secret. */
export interface CallSite {
  readonly operation: string;
  readonly region: string;
  readonly secretId?: string | undefined;
}

/** `secret "dsta/x" in us-east-1` or `GetSecretValue in us-east-1`: the subject of every message. */
export function subject(site: CallSite): string {
  return site.secretId === undefined ? `${site.operation} in ${site.region}` : `secret "${site.secretId}" in ${site.region}`;
}
