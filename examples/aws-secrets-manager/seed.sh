#!/bin/sh
# Create the seed's secrets with obviously fake values: JSON secrets for groups of keys, plain secrets for single
# values. Needs an identity allowed to CreateSecret on dsta/*; use AWS_ENDPOINT_URL for LocalStack.
# (test/ship/examples.test.ts reads these lines to seed its AWS emulator, so they stay one command a line.)
set -eu
aws secretsmanager create-secret --name dsta/app --secret-string '{"secret_key":"FAKE-django-secret-key-do-not-use-in-production"}'
aws secretsmanager create-secret --name dsta/exchange/binance --secret-string '{"api_key":"FAKE-binance-key-0000000000000000","api_secret":"FAKE-binance-secret","testnet":true}'
aws secretsmanager create-secret --name dsta/exchange/gateio --secret-string '{"api_key":"FAKE-gateio-key-1111111111111111","api_secret":"FAKE gateio secret"}'
aws secretsmanager create-secret --name dsta/database/postgres --secret-string '{"host":"postgres","port":5432,"user":"dsta","password":"FAKE-postgres-p@ss\"word","database":"trading"}'
aws secretsmanager create-secret --name dsta/database/redis --secret-string '{"password":"FAKE-redis-password"}'
aws secretsmanager create-secret --name dsta/monitoring/sentry_dsn --secret-string 'https://FAKEPUBLICKEY@sentry.example.invalid/1'
aws secretsmanager create-secret --name dsta/notifications/slack_webhook_url --secret-string 'https://hooks.slack.example.invalid/services/FAKE/FAKE/FAKE'
