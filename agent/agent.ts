// The long-running sidecar (docs/design.md "Triggers"): the one module that wires every stage together. It owns
// the lifecycle — start, cycle, reload, stop — and nothing else: each stage does its own work, and a cycle is the
// same render pass as `once` (runtime/pass.ts).
import { isVault } from './backends/create.js';
import { createStore, createContext, prepareOutput, withTemplatesHint } from './runtime/context.js';
import { assessExposure, exposureMessage, heldCredentials } from './runtime/exposure.js';
import type { Exposure } from './runtime/exposure.js';
import type { CommandContext, CommandIo, CommonFlags } from './runtime/context.js';
import { levelOf, memoryOf, renderPass } from './runtime/pass.js';
import type { TemplateResult } from './cycle.js';
import { LeaseKeeper } from './dynamic/keeper.js';
import type { Template } from './template/load.js';
import type { Logger } from './log/logger.js';
import { Scrubber } from './log/scrub.js';
import { NotifyDispatcher } from './notify/dispatcher.js';
import { TemplateSet } from './runtime/templates.js';
import { SerialRunner } from './runtime/serial.js';
import { StatusBook } from './runtime/status.js';
import { AutoRotator } from './rotation/auto.js';
import { SecretAgeBook } from './runtime/secret-ages.js';
import { startSchedule } from './schedule/cron.js';
import type { CronFactory } from './schedule/cron.js';
import { watchInputs } from './schedule/watch.js';
import type { InputWatcher, WatchedInput } from './schedule/watch.js';
import { AgentMetrics } from './server/metrics.js';
import { startServer } from './server/server.js';
import type { Listener } from './server/server.js';
import type { StoreMemory } from './store/memory.js';
import type { SecretStore } from './store/store.js';
import { backoffDelay } from './util/backoff.js';
import { systemClock, systemRandom } from './util/clock.js';
import type { Clock, Random, TimerHandle } from './util/clock.js';

export interface AgentOptions {
  readonly io: CommandIo;
  readonly flags: CommonFlags;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly cronFactory?: CronFactory;
  /** Quiet time after a watched input changes before it is read (default 250 ms). */
  readonly watchDebounceMs?: number;
}

/** What one start or reload builds from the configuration; replaced whole on SIGHUP. */
interface Wiring {
  context: CommandContext;
  log: Logger;
  store: SecretStore;
  dispatcher: NotifyDispatcher;
  stopSchedule: () => void;
  watcher: InputWatcher | undefined;
}

export class Agent {
  readonly metrics = new AgentMetrics();
  readonly #options: AgentOptions;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #scrubber = new Scrubber();
  readonly #templates = new TemplateSet();
  readonly #status: StatusBook;
  readonly #serial: SerialRunner;
  #wiring: Wiring | undefined;
  /** Last good values and provenance of the output directory; kept across reloads while the output stays the same. */
  #memory: { output: string; memory: StoreMemory } | undefined;
  #listener: Listener | undefined;
  #retry: TimerHandle | undefined;
  #failures = 0;
  readonly #ages = new SecretAgeBook();
  /** Due times of secrets with their own rotation period, and automatic rotation (docs/operations.md "Rotation"). */
  readonly #rotator: AutoRotator;
  #stopping = false;
  /** Held responses of `vault` helper calls and their timers; kept across reloads (docs/vault.md "Dynamic secrets"). */
  #keeper: LeaseKeeper | undefined;
  /** Calls replaced (or ended) since the last cycle: a cycle asked only for them renders only their templates. */
  readonly #changedCalls = new Set<string>();
  #isolation: Exposure | undefined;

  constructor(options: AgentOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#status = new StatusBook(this.metrics, this.#scrubber);
    this.#serial = new SerialRunner((reasons) => this.#cycle(reasons), { clock: this.#clock });
    this.#rotator = new AutoRotator({ registry: this.metrics.registry, clock: this.#clock });
    this.metrics.onScrape(() => {
      this.#sampleTokenTtl();
      this.#ages.sample(this.metrics.secretAge, this.#clock.now());
      this.#sampleLeases();
    });
  }

  /** Load the configuration and templates, open the listener, start triggers, and begin the first render. */
  async start(): Promise<void> {
    const context = await createContext(this.#options.io, this.#options.flags, this.#scrubber);
    // Every input is checked before anything is created: a missing templates directory leaves no output directory.
    await withTemplatesHint(() => this.#templates.reload(context.config.templates, context.log.child({ component: 'template' })));
    await prepareOutput(context);
    this.#memory = { output: context.config.output, memory: await memoryOf(context.config.output) };
    this.#wiring = await this.#wire(context);
    await this.#checkIsolation(this.#wiring);
    if (context.config.listen !== '') {
      this.#listener = await startServer(context.config.listen, this.#handlers());
      this.#wiring.log.info({ listen: this.#listener.address }, `listening on ${this.#listener.address}`);
    }
    this.trigger('start');
  }

  /** Ask for a cycle (start, schedule, watch, reload, retry); never overlaps a running one. */
  trigger(reason: string): void {
    if (!this.#stopping) this.#serial.trigger(reason);
  }

  /** Ask for a cycle on demand (SIGUSR1, POST /v1/refresh): coalesced to at most one cycle per second. */
  refresh(reason: string): void {
    if (this.#stopping) return;
    const log = this.#wiring?.log;
    // Why only the first: a flood of requests joins one cycle, and must not flood the log either.
    if (this.#serial.request(reason)) log?.info({ trigger: reason }, `refresh requested (${reason})`);
  }

  /** SIGHUP: read the configuration and templates again, then render; a bad configuration keeps the old one. */
  async reload(): Promise<void> {
    const old = this.#wiring;
    if (!old || this.#stopping) return;
    let context: CommandContext;
    let memory: StoreMemory;
    try {
      context = await createContext(this.#options.io, this.#options.flags, this.#scrubber);
      await prepareOutput(context);
      // Why: a reload during an outage must serve what it served before it, from the same backends.
      memory = this.#memory?.output === context.config.output ? this.#memory.memory : await memoryOf(context.config.output);
    } catch (error) {
      old.log.error({ code: (error as { code?: string }).code }, `reload rejected, the running configuration stays: ${(error as Error).message}`);
      return;
    }
    await this.#unwire(old);
    this.#memory = { output: context.config.output, memory };
    await this.#templates.reload(context.config.templates, context.log.child({ component: 'template' }));
    this.#wiring = await this.#wire(context);
    // Files the old configuration wrote but had not notified yet (a burst waiting for `wait`, the cycle in flight)
    // are notified by the new one: the next cycle finds them unchanged and would tell nobody.
    old.dispatcher.handOff(this.#wiring.dispatcher);
    this.#wiring.log.info('configuration and templates reloaded');
    this.trigger('reload');
    await this.#release(old);
  }

  /** Stop triggers and the listener, let the cycle in flight finish, release backends. */
  async stop(reason = 'stop'): Promise<void> {
    const log = this.#wiring?.log;
    log?.info({ reason }, `stopping (${reason}): finishing the cycle in flight`);
    this.#stopping = true;
    this.#serial.stop();
    this.#retry?.cancel();
    this.#keeper?.close();
    if (this.#wiring) {
      await this.#unwire(this.#wiring);
      await this.#serial.idle();
      // Why before the store closes: a revocation needs the token. Without the option leases are left to expire.
      if (this.#wiring.context.config.vault.revokeOnShutdown) await this.#keeper?.revokeAll();
      await this.#release(this.#wiring);
    }
    await this.#listener?.close();
    log?.info({ reason }, 'stopped');
  }

  /** Resolves when no lease work and no cycle is in flight (tests step a fake clock with it). */
  async settled(): Promise<void> {
    do {
      await this.#keeper?.settled();
      await this.#serial.idle();
    } while (this.#serial.busy);
  }

  get ready(): boolean {
    return this.#status.ready(this.#templates.all);
  }

  status(): unknown {
    return this.#scrubber.scrubDeep({ ready: this.ready, ...(this.#isolation ? { isolation: this.#isolation } : {}), ...this.#status.document(), dynamic: this.#keeper?.status() ?? [] });
  }

  async #wire(context: CommandContext): Promise<Wiring> {
    const { config } = context;
    const log = context.log.child({ component: 'agent' });
    const store = await createStore(context, {
      clock: this.#clock,
      random: this.#random,
      ...(this.#memory ? { memory: this.#memory.memory } : {}),
      events: {
        onFetch: (event) => {
          this.metrics.secretRequests.inc({ backend: event.backend, status: event.status });
          this.metrics.secretRequestDuration.observe({ backend: event.backend }, event.seconds);
          this.metrics.backendUp.set({ backend: event.backend }, event.status === 'unavailable' || event.status === 'error' ? 0 : 1);
        },
        onProvenanceConflict: (event) => {
          this.metrics.provenanceConflicts.inc({ path: event.path });
        },
      },
    });
    store.useCalls(this.#leaseKeeper(context));
    const dispatcher = new NotifyDispatcher({
      notifiers: config.notifiers,
      wait: config.wait,
      log: context.log,
      clock: this.#clock,
      secretValues: () => this.#scrubber.values(),
      onResult: (result) => {
        this.metrics.notifications.inc({ notifier: result.notifier, result: result.result });
      },
    });
    const schedule = startSchedule({ expression: config.schedule, splayMs: config.splay, clock: this.#clock, random: this.#random, onRun: () => { this.trigger('schedule'); }, ...(this.#options.cronFactory ? { cronFactory: this.#options.cronFactory } : {}) });
    const watcher = this.#watch(context);
    await watcher?.ready;
    return { context, log, store, dispatcher, stopSchedule: () => { schedule.stop(); }, watcher };
  }

  /** The one lease keeper of the process, created with the first configuration's `retry`. */
  #leaseKeeper(context: CommandContext): LeaseKeeper {
    this.#keeper ??= new LeaseKeeper({
      clock: this.#clock,
      random: this.#random,
      retry: context.config.retry,
      log: context.log.child({ component: 'dynamic' }),
      events: {
        onChange: (identities) => {
          for (const identity of identities) this.#changedCalls.add(identity);
          this.trigger('lease');
        },
        onRenewal: (result) => { this.metrics.leaseRenewals.inc({ result }); },
      },
    });
    return this.#keeper;
  }

  /** Stop a wiring's triggers; its backends stay open for a cycle still using them (see #release). */
  async #unwire(wiring: Wiring): Promise<void> {
    wiring.stopSchedule();
    await wiring.watcher?.close();
    await wiring.dispatcher.stop();
  }

  /** Watch the templates directory and the secrets file; a template change reloads templates, then renders. */
  /** Close a retired wiring's backends once no cycle can still be using them. */
  async #release(wiring: Wiring): Promise<void> {
    await this.#serial.idle();
    await wiring.store.close();
  }

  #watch(context: CommandContext): InputWatcher | undefined {
    const inputs: WatchedInput[] = [{ kind: 'templates', path: context.config.templates }];
    if (context.config.file.path !== undefined) inputs.push({ kind: 'secrets-file', path: context.config.file.path });
    return watchInputs({
      inputs,
      clock: this.#clock,
      debounceMs: this.#options.watchDebounceMs ?? 250,
      onChange: (kinds) => {
        void this.#onInputChange(kinds, context);
      },
    });
  }

  async #onInputChange(kinds: string[], context: CommandContext): Promise<void> {
    if (kinds.includes('templates')) await this.#templates.reload(context.config.templates, context.log.child({ component: 'template' }));
    this.trigger(`watch:${kinds.join(',')}`);
  }

  /** One cycle: fetch, render, write; then audit, status, notifications, and a retry when anything failed. */
  async #cycle(reasons: string[]): Promise<void> {
    const wiring = this.#wiring;
    if (!wiring) return;
    const { context, log } = wiring;
    // Why per template: "not for the first render" is each file's own first render; one template that keeps failing
    // (or one a reload added) must not silence the notifiers of the others.
    const renderedBefore = new Set(this.#templates.all.filter((template) => this.#status.succeeded(template.name)).map((template) => template.name));
    const started = this.#clock.now();
    log.debug({ reasons }, `cycle started (${reasons.join(', ')})`);
    const changedCalls = new Set(this.#changedCalls);
    this.#changedCalls.clear();
    // Why: a replaced lease changes the files of the templates that use it, and nothing else; a full cycle
    // would read every other secret again for nothing.
    const partial = reasons.every((reason) => reason === 'lease');
    const all = this.#templates.all;
    const chosen = partial ? all.filter((template) => usesAny(template, changedCalls)) : all;
    const report = await renderPass({ context, store: wiring.store, templates: chosen, write: true, partial });
    const { problems, templates } = report;
    for (const problem of problems.values()) log.error({ code: problem.code, ...problem.details }, problem.message);
    this.#status.record(report.results, report.resolutions, this.#clock.now());
    if (!partial) {
      this.#status.retain(templates);
      this.#keeper?.retain(all.flatMap((template) => template.dependencies.filter((dep) => dep.helper === 'vault').map((dep) => dep.path)));
    }
    this.#logResults(log, report.results);
    this.#logCycle(log, reasons, report.results, problems.size, this.#clock.now() - started);
    const changed = report.results.filter((result) => result.outcome === 'written' && (context.config.notifyOnStart || renderedBefore.has(result.template.name)));
    if (changed.length > 0) {
      void wiring.dispatcher.notify(changed.map((result) => ({ template: result.template.name, notify: result.template.notify })));
    }
    const failed = problems.size > 0 || report.results.some((result) => result.outcome === 'failed');
    // A clean lease cycle says nothing about the other templates: a retry they are waiting for stays armed.
    if (!partial || failed) this.#scheduleRetry(failed, wiring);
    if (!partial) this.#ages.record(report.resolutions);
    // A new version (ours, or another replica's that won the race) is rendered, and notified, by the next cycle.
    if (!partial && (await this.#rotator.check({ store: wiring.store, resolutions: report.resolutions, auto: context.config.rotation.auto, log, audit: context.config.log.audit, scrubber: context.scrubber }))) this.trigger('rotation');
  }

  /** Once at start: can another process of the agent's UID take its credentials through /proc? (runtime/exposure.ts) */
  async #checkIsolation(wiring: Wiring): Promise<void> {
    const { config } = wiring.context;
    const credentials = heldCredentials(config, wiring.store.backends.map((backend) => backend.name), this.#options.io.env);
    // Why never fatal: the check only reports; a /proc it cannot read leaves the agent running, and says so.
    const isolation = await assessExposure(credentials).catch((error: unknown): Exposure => ({ exposed: false, credentials, unknown: (error as Error).message }));
    this.#isolation = isolation;
    if (isolation.exposed) {
      wiring.log.warn({ code: 'ERR_CREDENTIALS_EXPOSED', uid: isolation.uid, foreignProcesses: isolation.foreignCount, credentials: isolation.credentials.join(', ') }, exposureMessage(isolation));
    } else if (isolation.unknown !== undefined) {
      wiring.log.debug({ reason: isolation.unknown }, 'isolation not checked');
    }
  }

  /** One info line per cycle, whatever happened: what operators grep for (trigger, counts, duration). */
  #logCycle(log: Logger, reasons: readonly string[], results: readonly TemplateResult[], refused: number, ms: number): void {
    const count = (outcome: TemplateResult['outcome']): number => results.filter((result) => result.outcome === outcome).length;
    const summary = { trigger: reasons.join(','), written: count('written'), unchanged: count('unchanged'), failed: count('failed') + refused, durationMs: ms };
    log.info(summary, `cycle (${summary.trigger}): ${summary.written} written, ${summary.unchanged} unchanged, ${summary.failed} failed in ${ms} ms`);
  }

  #logResults(log: Logger, results: readonly TemplateResult[]): void {
    for (const result of results) {
      if (result.outcome === 'failed' && result.error) log[levelOf(result.error)]({ code: result.error.code, ...result.error.details }, result.error.message);
      else if (result.outcome === 'written') log.info({ template: result.template.name, destination: result.path }, `wrote ${result.path ?? result.template.destination}`);
    }
  }

  /** Any failure is retried with exponential backoff and full jitter, forever; a clean cycle resets it. */
  #scheduleRetry(failed: boolean, wiring: Wiring): void {
    this.#retry?.cancel();
    this.#retry = undefined;
    if (!failed) {
      this.#failures = 0;
      return;
    }
    const delay = backoffDelay(wiring.context.config.retry, this.#failures++, this.#random);
    wiring.log.warn({ retryInMs: delay, attempt: this.#failures }, `some templates failed; retrying in ${delay} ms`);
    this.#retry = this.#clock.setTimeout(() => {
      this.trigger('retry');
    }, delay);
  }

  /** vault_lease_ttl_seconds and certificate_expiry_timestamp_seconds, exact at scrape time like the token's TTL. */
  #sampleLeases(): void {
    this.metrics.leaseTtl.reset();
    this.metrics.certificateExpiry.reset();
    if (!this.#keeper) return;
    for (const [path, seconds] of this.#keeper.leaseTtls()) this.metrics.leaseTtl.set({ path }, seconds);
    for (const [path, at] of this.#keeper.certificateExpiries()) this.metrics.certificateExpiry.set({ path }, at);
  }

  /** vault_token_ttl_seconds is read at scrape time, so it is exact whatever the renewal schedule. */
  #sampleTokenTtl(): void {
    const vault = this.#wiring?.store.backends.find(isVault);
    const ttl = vault?.tokenStatus().ttlSeconds;
    this.metrics.setVaultTokenTtl(ttl);
  }

  #handlers(): Parameters<typeof startServer>[1] {
    return {
      ready: () => this.ready,
      metrics: async () => {
        return { contentType: this.metrics.contentType, body: await this.metrics.text() };
      },
      status: () => this.status(),
      refresh: () => {
        this.refresh('http');
      },
    };
  }
}

/** True when `template` makes one of the `vault` helper calls in `identities`. */
function usesAny(template: Template, identities: ReadonlySet<string>): boolean {
  return template.dependencies.some((dep) => dep.helper === 'vault' && identities.has(dep.path));
}
