#!/bin/sh
# Put obviously fake values at the seed's paths, for trying the example against a dev Vault:
#   vault server -dev -dev-root-token-id=root &
#   export VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root VAULT_NAMESPACE=
#   sh examples/vault-kv/seed.sh
# (test/ship/examples.test.ts reads these lines to seed its Vault emulator, so they stay one command a line.)
set -eu
vault kv put -mount=secret app secret_key='FAKE-django-secret-key-do-not-use-in-production'
vault kv put -mount=secret exchange/binance api_key='FAKE-binance-key-0000000000000000' api_secret='FAKE-binance-secret' testnet='true'
vault kv put -mount=secret database/postgres host='postgres' port='5432' user='dsta' password='FAKE-postgres-password' database='trading'
vault kv put -mount=secret monitoring sentry_dsn='https://FAKEPUBLICKEY@sentry.example.invalid/1'
vault kv put -mount=secret notifications slack_webhook_url='https://hooks.slack.example.invalid/services/FAKE/FAKE/FAKE'
