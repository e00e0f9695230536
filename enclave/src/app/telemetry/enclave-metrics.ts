import type { MetricFamily, MetricSample } from '@nitro-datakey/shared/telemetry';

type Labels = Readonly<Record<string, string>>;

/** Latency buckets in milliseconds: KMS answers in tens of ms, a new RSA key pair or a throttled call in seconds. */
const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

interface Family {
  readonly help: string;
  readonly type: MetricFamily['type'];
  readonly buckets?: readonly number[];
  readonly series: Map<string, { labels: Labels; value: number; counts?: number[]; sum?: number; count?: number }>;
}

/**
 * The enclave's own counters and histograms, sent to the parent in each heartbeat (the enclave has no
 * port of its own): attested calls by operation and outcome, KMS latency, denials by code, key pairs,
 * secrets, gateway requests. Labels are names and codes, never key material or request content.
 */
export class EnclaveMetrics {
  readonly #families = new Map<string, Family>();

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const series = this.#series(name, help, 'counter', labels);
    series.value += by;
  }

  /** A value read from elsewhere (a counter kept by another component, a gauge). */
  set(name: string, help: string, type: 'counter' | 'gauge', labels: Labels, value: number): void {
    this.#series(name, help, type, labels).value = value;
  }

  observe(name: string, help: string, labels: Labels, value: number, buckets: readonly number[] = LATENCY_BUCKETS_MS): void {
    const family = this.#family(name, help, 'histogram', buckets);
    const series = this.#series(name, help, 'histogram', labels);
    series.counts ??= new Array<number>(family.buckets?.length ?? 0).fill(0);
    (family.buckets ?? []).forEach((le, i) => {
      if (value <= le) (series.counts as number[])[i] = ((series.counts as number[])[i] ?? 0) + 1;
    });
    series.sum = (series.sum ?? 0) + value;
    series.count = (series.count ?? 0) + 1;
  }

  /** Every family as the telemetry route carries it. */
  snapshot(): MetricFamily[] {
    return [...this.#families].map(([name, f]) => ({
      name,
      help: f.help,
      type: f.type,
      samples: [...f.series.values()].map(
        (s): MetricSample =>
          f.type === 'histogram'
            ? { labels: s.labels, buckets: (f.buckets ?? []).map((le, i) => [le, s.counts?.[i] ?? 0] as const), sum: s.sum ?? 0, count: s.count ?? 0 }
            : { labels: s.labels, value: s.value },
      ),
    }));
  }

  get(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.series.get(JSON.stringify(labels))?.value ?? 0;
  }

  #family(name: string, help: string, type: MetricFamily['type'], buckets?: readonly number[]): Family {
    let family = this.#families.get(name);
    if (!family) {
      family = { help, type, ...(buckets ? { buckets } : {}), series: new Map() };
      this.#families.set(name, family);
    }
    return family;
  }

  #series(name: string, help: string, type: MetricFamily['type'], labels: Labels) {
    const family = this.#family(name, help, type);
    const k = JSON.stringify(labels);
    let series = family.series.get(k);
    if (!series) {
      series = { labels, value: 0 };
      family.series.set(k, series);
    }
    return series;
  }
}
