# secrets-agent-api-server: read exactly the secrets the templates of this example use, nothing else.
# `vault policy write secrets-agent-api-server policy.hcl` (with VAULT_NAMESPACE=dsta).
path "secret/data/app" {
  capabilities = ["read"]
}
path "secret/data/exchange/binance" {
  capabilities = ["read"]
}
path "secret/data/database/postgres" {
  capabilities = ["read"]
}
path "secret/data/monitoring" {
  capabilities = ["read"]
}
path "secret/data/notifications" {
  capabilities = ["read"]
}
