/**
 * Fault hooks for tests: fail the next requests, slow answers down, drop open watches and
 * compact the history. Rules match on the Kubernetes verb, the HTTP method and the path.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface FaultMatch {
  /** Kubernetes verb (`watch` is a GET with `?watch=true`). */
  verb?: Verb;
  /** HTTP method, upper case. */
  method?: string;
  /** A substring of the URL path, or a pattern tested against it. */
  path?: string | RegExp;
}

export interface FailureFault extends FaultMatch {
  /** HTTP status to answer (default 500). On a watch, 410 arrives as an ERROR event, as the real server sends it. */
  code?: number;
  message?: string;
}

export interface RequestInfo {
  verb: Verb;
  method: string;
  path: string;
}

interface FailureRule {
  match: FaultMatch;
  remaining: number;
  code: number;
  message: string;
}

interface LatencyRule {
  match: FaultMatch;
  ms: number;
}

export interface FaultTarget {
  dropWatches(graceful: boolean): number;
  compact(): number;
  watchCount(): number;
}

function matches(match: FaultMatch, info: RequestInfo): boolean {
  if (match.verb !== undefined && match.verb !== info.verb) return false;
  if (match.method !== undefined && match.method.toUpperCase() !== info.method) return false;
  if (match.path !== undefined) {
    if (typeof match.path === 'string' ? !info.path.includes(match.path) : !match.path.test(info.path))
      return false;
  }
  return true;
}

export class Faults {
  private failures: FailureRule[] = [];
  private latencies: LatencyRule[] = [];
  /** Requests that were answered by an injected failure. */
  injected = 0;

  constructor(private readonly target: FaultTarget) {}

  /** The next `count` requests matching `fault` fail with `fault.code` (default 500). */
  failNext(count: number, fault: FailureFault = {}): void {
    const code = fault.code ?? 500;
    this.failures.push({
      match: fault,
      remaining: count,
      code,
      message:
        fault.message ?? (code === 410 ? 'injected: resource version too old' : `injected failure ${code}`),
    });
  }

  /** Delays every matching request by `ms` until the returned function (or `clear()`) is called. */
  addLatency(ms: number, match: FaultMatch = {}): () => void {
    const rule: LatencyRule = { match, ms };
    this.latencies.push(rule);
    return () => {
      this.latencies = this.latencies.filter((r) => r !== rule);
    };
  }

  /**
   * Ends every open watch. `graceful: false` (default) resets the connection, which makes
   * client-node's informer stop with an error; `graceful: true` ends the stream cleanly, after
   * which the informer rewatches from its last resourceVersion. Returns how many were dropped.
   */
  dropWatches(options: { graceful?: boolean } = {}): number {
    return this.target.dropWatches(options.graceful ?? false);
  }

  /** Compacts the history: watches from an older resourceVersion get 410. Returns the current resourceVersion. */
  compact(): string {
    return String(this.target.compact());
  }

  /** Open watch connections. */
  get openWatches(): number {
    return this.target.watchCount();
  }

  /** Removes every failure and latency rule. */
  clear(): void {
    this.failures = [];
    this.latencies = [];
  }

  /** @internal Consulted by the server for each request. */
  take(info: RequestInfo): { latencyMs: number; failure: { code: number; message: string } | undefined } {
    const latencyMs = this.latencies.filter((r) => matches(r.match, info)).reduce((sum, r) => sum + r.ms, 0);
    const rule = this.failures.find((r) => r.remaining > 0 && matches(r.match, info));
    if (rule === undefined) return { latencyMs, failure: undefined };
    rule.remaining--;
    this.failures = this.failures.filter((r) => r.remaining > 0);
    this.injected++;
    return { latencyMs, failure: { code: rule.code, message: rule.message } };
  }
}
