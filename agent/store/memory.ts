// What a store remembers between cycles, owned by whoever outlives the store: the running agent keeps one per
// output directory across SIGHUP reloads (docs/design.md "Provenance"), so a reload during an outage serves the
// same last good values from the same backends as before it.
import type { LastGood } from './chain-walk.js';
import { Provenance } from './provenance.js';

export class StoreMemory {
  /** The last value each request got from a backend, keyed by request key: served stale while that backend is down. */
  readonly lastGood = new Map<string, LastGood>();
  /** Which backend served each chain path: no lower backend ever serves it again. */
  readonly provenance: Provenance;

  constructor(provenance: Provenance = new Provenance()) {
    this.provenance = provenance;
  }
}
