# api-server-read: what the api-server's templates read, nothing else (VAULT_NAMESPACE=dsta).
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
