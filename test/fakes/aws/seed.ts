// The DSTA layout in AWS with the `dsta/` prefix, with obviously fake values (the quickstart's secrets.yaml):
// JSON secrets for groups of keys, plain secrets for single values, so both kinds of the layout exist.
import type { AwsEmulator } from './emulator.js';

/** Secret name → SecretString (objects are stored as JSON text). */
export const DSTA_SEED: Readonly<Record<string, string | Readonly<Record<string, unknown>>>> = {
  'dsta/exchange/binance': { api_key: 'FAKE-binance-key-0000000000000000', api_secret: "FAKE-binance-secret-with-$pecial'chars", testnet: true },
  'dsta/exchange/gateio': { api_key: 'FAKE-gateio-key-1111111111111111', api_secret: 'FAKE gateio secret # not a comment' },
  'dsta/database/postgres': { host: 'postgres', port: 5432, user: 'dsta', password: 'FAKE-postgres-p@ss"word', database: 'trading' },
  'dsta/database/redis': { password: 'FAKE-redis-password' },
  'dsta/app': { secret_key: 'FAKE-django-secret-key-do-not-use-in-production' },
  'dsta/monitoring/sentry_dsn': 'https://FAKEPUBLICKEY@sentry.example.invalid/1',
  'dsta/notifications/slack_webhook_url': 'https://hooks.slack.example.invalid/services/FAKE/FAKE/FAKE',
};

/** Seed an emulator with the DSTA layout; returns the names it created. */
export function seedDsta(emulator: AwsEmulator): string[] {
  for (const [name, value] of Object.entries(DSTA_SEED)) emulator.putSecret(name, typeof value === 'string' ? value : { ...value });
  return Object.keys(DSTA_SEED);
}
