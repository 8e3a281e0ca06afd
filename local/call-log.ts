/**
 * What the local stack remembers per X-Request-Id: how many calls reached each protocol, and in
 * which order they started and ended, so tests can assert round-trip budgets and overlap without
 * a clock. Also the latency it injects in front of the backends (benchmarks, overlap tests).
 */
import { setTimeout as sleep } from 'node:timers/promises';

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
  /**
   * How long the request was held by injected latency, measured: the time during which at least
   * one of its calls sat in its delay (delays that overlap count once).
   */
  injectedWaitMs: number;
  /** The same delays summed, as if no two had overlapped. */
  injectedTotalMs: number;
}

/** One call in progress: `wait()` serves the injected delay, `end()` records the answer. */
export interface CallInProgress {
  wait(): Promise<void>;
  end(): void;
}

interface RequestLog {
  counts: Record<Protocol, number>;
  calls: Call[];
  maxInFlight: number;
  inFlight: number;
  /** performance.now() spans of the injected delays. */
  waits: [number, number][];
}

export interface Latency {
  neon: number;
  upstash: number;
}

export class CallLog {
  #events = 0;
  readonly #requests = new Map<string, RequestLog>();
  /** Request-id prefix → milliseconds added in front of each call of a matching request. */
  readonly #latency = new Map<string, Latency>();

  begin(requestId: string, protocol: Protocol, command: string): CallInProgress {
    let request = this.#requests.get(requestId);
    if (!request) this.#requests.set(requestId, (request = { counts: { neon: 0, upstash: 0 }, calls: [], maxInFlight: 0, inFlight: 0, waits: [] }));
    request.counts[protocol] += 1;
    const call: Call = { protocol, command, start: this.#events++ };
    request.calls.push(call);
    request.maxInFlight = Math.max(request.maxInFlight, ++request.inFlight);
    const delayMs = this.#latencyMs(requestId, protocol);
    return {
      wait: async () => {
        if (delayMs <= 0) return;
        const from = performance.now();
        await sleep(delayMs);
        request.waits.push([from, performance.now()]);
      },
      end: () => {
        call.end = this.#events++;
        request.inFlight -= 1;
      },
    };
  }

  roundTrips(requestId: string): Record<Protocol, number> {
    return this.#requests.get(requestId)?.counts ?? { neon: 0, upstash: 0 };
  }

  timeline(requestId: string): Timeline {
    const request = this.#requests.get(requestId);
    if (!request) return { maxInFlight: 0, calls: [], injectedWaitMs: 0, injectedTotalMs: 0 };
    return {
      maxInFlight: request.maxInFlight,
      calls: request.calls,
      injectedWaitMs: unionLength(request.waits),
      injectedTotalMs: request.waits.reduce((sum, [from, to]) => sum + (to - from), 0),
    };
  }

  clear(): void {
    this.#requests.clear();
  }

  /** From now on, every call whose request id starts with `prefix` waits this long before it is served. */
  injectLatency(prefix: string, latency: Latency): void {
    this.#latency.set(prefix, latency);
  }

  #latencyMs(requestId: string, protocol: Protocol): number {
    for (const [prefix, latency] of this.#latency) if (requestId.startsWith(prefix)) return latency[protocol];
    return 0;
  }
}

function unionLength(spans: [number, number][]): number {
  let total = 0;
  let reached = -Infinity;
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    total += Math.max(0, to - Math.max(from, reached));
    reached = Math.max(reached, to);
  }
  return total;
}
