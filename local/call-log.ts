/**
 * What the local stack remembers per X-Request-Id: how many calls reached each protocol, and in
 * which order they started and ended, so tests can assert round-trip budgets and overlap without
 * a clock. Also the latency it injects in front of the backends (benchmarks, overlap tests).
 */
export type Protocol = 'neon' | 'upstash';

export interface Call {
  protocol: Protocol;
  /** Upstash: the command (`evalsha`, `get`, …, or `pipeline`/`multi-exec`); Neon: `query` or `batch`. */
  command: string;
  /** Positions on the stack's one event counter: `a.end < b.start` means b started after a was answered. */
  start: number;
  end?: number;
}

export interface Timeline {
  /** The most calls of this request that were in flight at once. */
  maxInFlight: number;
  calls: Call[];
}

export interface Latency {
  neon: number;
  upstash: number;
}

export class CallLog {
  #events = 0;
  readonly #counts = new Map<string, Record<Protocol, number>>();
  readonly #timelines = new Map<string, Timeline & { inFlight: number }>();
  /** Request-id prefix → milliseconds added in front of each call of a matching request. */
  readonly #latency = new Map<string, Latency>();

  /** Records a call's start; the returned function records its end. */
  begin(requestId: string, protocol: Protocol, command: string): () => void {
    const counts = this.#counts.get(requestId) ?? { neon: 0, upstash: 0 };
    counts[protocol] += 1;
    this.#counts.set(requestId, counts);

    const timeline = this.#timelines.get(requestId) ?? { maxInFlight: 0, calls: [], inFlight: 0 };
    this.#timelines.set(requestId, timeline);
    const call: Call = { protocol, command, start: this.#events++ };
    timeline.calls.push(call);
    timeline.maxInFlight = Math.max(timeline.maxInFlight, ++timeline.inFlight);
    return () => {
      call.end = this.#events++;
      timeline.inFlight -= 1;
    };
  }

  roundTrips(requestId: string): Record<Protocol, number> {
    return this.#counts.get(requestId) ?? { neon: 0, upstash: 0 };
  }

  timeline(requestId: string): Timeline {
    const timeline = this.#timelines.get(requestId);
    return timeline ? { maxInFlight: timeline.maxInFlight, calls: timeline.calls } : { maxInFlight: 0, calls: [] };
  }

  clear(): void {
    this.#counts.clear();
    this.#timelines.clear();
  }

  /** From now on, every call whose request id starts with `prefix` waits this long before it is served. */
  injectLatency(prefix: string, latency: Latency): void {
    this.#latency.set(prefix, latency);
  }

  latencyMs(requestId: string | undefined, protocol: Protocol): number {
    if (requestId === undefined) return 0;
    for (const [prefix, latency] of this.#latency) if (requestId.startsWith(prefix)) return latency[protocol];
    return 0;
  }
}
