// The Prometheus metrics of docs/operations.md on a registry of our own (never prom-client's global one), so a
// library user's metrics and ours never collide. Labels carry names and paths, never values.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly secretRequests = new Counter({ name: 'secret_requests_total', help: 'Backend reads by backend and outcome (found, not_found, denied, unavailable, error).', labelNames: ['backend', 'status'], registers: [this.registry] });
  readonly secretRequestDuration = new Histogram({ name: 'secret_request_duration_seconds', help: 'Duration of backend reads.', labelNames: ['backend'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly templateRenders = new Counter({ name: 'template_renders_total', help: 'Template renders by result (written, unchanged, failed).', labelNames: ['template', 'result'], registers: [this.registry] });
  readonly templateLastSuccess = new Gauge({ name: 'template_last_success_timestamp_seconds', help: 'Unix time of the last successful render of a template.', labelNames: ['template'], registers: [this.registry] });
  readonly notifications = new Counter({ name: 'notify_total', help: 'Notifier runs by result (success, failure).', labelNames: ['notifier', 'result'], registers: [this.registry] });
  /** Registered only while Vault takes part and its token has a TTL (see setVaultTokenTtl). */
  readonly vaultTokenTtl = new Gauge({ name: 'vault_token_ttl_seconds', help: 'Remaining TTL of the Vault token.', registers: [] });
  readonly secretAge = new Gauge({ name: 'secret_age_seconds', help: 'Seconds since the served version of a secret was written (Vault KV v2 created_time, AWS CreatedDate), at scrape time; absent where the backend keeps no history.', labelNames: ['path'], registers: [this.registry] });
  readonly provenanceConflicts = new Counter({ name: 'secret_provenance_conflicts_total', help: 'Reads where the backend that served a path said it no longer exists; the file kept its content and no lower backend served it.', labelNames: ['path'], registers: [this.registry] });
  // Dynamic secrets (docs/vault.md "Dynamic secrets"): the label is the call's Vault path, never its parameters.
  readonly leaseTtl = new Gauge({ name: 'vault_lease_ttl_seconds', help: 'Seconds left on the lease of a vault helper call, at scrape time (the shortest when several calls share a path).', labelNames: ['path'], registers: [this.registry] });
  readonly leaseRenewals = new Counter({ name: 'vault_lease_renewals_total', help: 'Lease work by result: renewed, max_ttl (renewed, but capped), refused, failed (retried), replaced (a new lease, read or certificate).', labelNames: ['result'], registers: [this.registry] });
  readonly certificateExpiry = new Gauge({ name: 'certificate_expiry_timestamp_seconds', help: 'Unix time at which the certificate of a vault helper call expires.', labelNames: ['path'], registers: [this.registry] });
  readonly backendUp = new Gauge({ name: 'backend_up', help: '1 when the backend answered its last request, 0 when it was unavailable.', labelNames: ['backend'], registers: [this.registry] });

  readonly #samplers: (() => void)[] = [];

  constructor(options: { processMetrics?: boolean } = {}) {
    // Sample the event loop once a second, not every 10 ms: an idle sidecar should not wake 100 times a second.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
  }

  /**
   * The token's remaining TTL, or undefined when Vault is not in the chain or its token has none (a token that
   * never expires, or none yet): then the metric is absent, so an alert on a low TTL never fires on a file- or
   * env-only agent (docs/operations.md "Endpoints").
   */
  setVaultTokenTtl(seconds: number | undefined): void {
    const registered = this.registry.getSingleMetric('vault_token_ttl_seconds') !== undefined;
    if (seconds === undefined) {
      if (registered) this.registry.removeSingleMetric('vault_token_ttl_seconds');
      return;
    }
    if (!registered) this.registry.registerMetric(this.vaultTokenTtl);
    this.vaultTokenTtl.set(seconds);
  }

  /** Run `sample` before every scrape: gauges that are a function of the time (TTLs, ages) are exact when read. */
  onScrape(sample: () => void): void {
    this.#samplers.push(sample);
  }

  /** The exposition text for GET /metrics. */
  async text(): Promise<string> {
    for (const sample of this.#samplers) sample();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
