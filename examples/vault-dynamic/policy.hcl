# secrets-agent-dynamic: what the example's templates call, and the lease calls the agent makes for them.
path "database/creds/api-server" {
  capabilities = ["read"]
}

path "pki/issue/api-server" {
  capabilities = ["update"]
}

# Renewal (Vault's default policy grants it too) and, for vault.revokeOnShutdown, revocation of the agent's leases.
path "sys/leases/renew" {
  capabilities = ["update"]
}

path "sys/leases/revoke" {
  capabilities = ["update"]
}
