// `audit --all` on AWS: every secret under a prefix, with ListSecrets and a name filter, on the backend's own
// client (its region, endpoint and credentials).
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import type { ListSecretsCommandOutput } from '@aws-sdk/client-secrets-manager';
import { classifyError, failureError } from './failure.js';
import type { CallSite } from './site.js';
import type { WriteContext } from './writes.js';

/**
 * The secrets named `<prefix><under>` or `<prefix><under>/...` that are not scheduled for deletion, without the
 * configured prefix, sorted; undefined as soon as there are more than `limit`.
 */
export async function listSecrets(ctx: Pick<WriteContext, 'client' | 'prefix' | 'region'>, under: string, limit: number): Promise<string[] | undefined> {
  // Why: a name filter is a prefix match on the full name, so the configured aws.prefix goes in front.
  const full = `${ctx.prefix}${under}`;
  const site: CallSite = { operation: 'ListSecrets', region: ctx.region };
  const names: string[] = [];
  let token: string | undefined;
  do {
    let page: ListSecretsCommandOutput;
    try {
      page = await ctx.client.send(new ListSecretsCommand({ ...(full === '' ? {} : { Filters: [{ Key: 'name', Values: [full] }] }), ...(token === undefined ? {} : { NextToken: token }) }));
    } catch (error) {
      throw failureError(classifyError(error, site), site);
    }
    for (const entry of page.SecretList ?? []) {
      const name = entry.Name?.startsWith(ctx.prefix) === true ? entry.Name.slice(ctx.prefix.length) : undefined;
      if (name !== undefined && entry.DeletedDate === undefined && (under === '' || name === under || name.startsWith(`${under}/`))) names.push(name);
    }
    if (names.length > limit) return undefined;
    token = page.NextToken;
  } while (token !== undefined);
  return names.filter((name) => name !== '').sort();
}
