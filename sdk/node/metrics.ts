// Prometheus metrics: one registry per process, each metric declared once (a second declaration of the
// same name returns the first, so modules can declare what they use without coordinating).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type { Registry } from "prom-client";

export interface MetricsOptions {
  /** Prefix for every metric name, e.g. "ozk_prover_". */
  prefix: string;
  /** Labels on every series, e.g. { service: "challenger" }. */
  defaultLabels?: Record<string, string>;
  /** Process metrics (CPU, memory, event loop lag); default true. */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry: Registry;
  readonly prefix: string;

  constructor(options: MetricsOptions) {
    this.prefix = options.prefix;
    this.registry = new Registry();
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: options.prefix });
  }

  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.declare(name, () => new Counter<L>({ name: this.prefix + name, help, labelNames, registers: [this.registry] }));
  }

  /** `collect` runs at each scrape (set the gauge from live state there). */
  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (g: Gauge<L>) => void): Gauge<L> {
    return this.declare(name, () => new Gauge<L>({
      name: this.prefix + name,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect ? { collect(this: Gauge<L>) { collect(this); } } : {}),
    }));
  }

  histogram<L extends string = string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets: number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  ): Histogram<L> {
    return this.declare(name, () => new Histogram<L>({ name: this.prefix + name, help, labelNames, buckets, registers: [this.registry] }));
  }

  /** Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private declare<T>(name: string, make: () => T): T {
    const existing = this.registry.getSingleMetric(this.prefix + name);
    return (existing as T | undefined) ?? make();
  }
}
