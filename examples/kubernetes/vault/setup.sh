#!/bin/sh
# One-time Vault setup for the api-server pods, run by a Vault operator in the "dsta" namespace.
# KUBERNETES_HOST: the API server as Vault reaches it (https://kubernetes.default.svc when Vault runs in-cluster).
set -eu
export VAULT_NAMESPACE="${VAULT_NAMESPACE-dsta}"
here="$(dirname "$0")"

vault policy write api-server-read "$here/policy.hcl"

vault auth enable kubernetes 2>/dev/null || true     # once per cluster; use -path=kubernetes-<cluster> for more
vault write auth/kubernetes/config kubernetes_host="${KUBERNETES_HOST:-https://kubernetes.default.svc}"

# Tokens for the ServiceAccount dsta/api-server, only from JWTs issued for the audience "vault";
# renewable for an hour at a time, at most a day, after which the agent logs in again by itself.
vault write auth/kubernetes/role/api-server \
  bound_service_account_names=api-server \
  bound_service_account_namespaces=dsta \
  audience=vault \
  token_policies=api-server-read \
  token_ttl=1h \
  token_max_ttl=24h
