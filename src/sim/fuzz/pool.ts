/**
 * Runs schedules S..S+N-1 on worker threads (one per core by default). Schedule i always has
 * seed S+i, so a run finds the same things whatever the number of workers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { GenerateOptions } from './generate.js';
import type { CaseSummary } from './summary.js';

export interface PoolOptions extends GenerateOptions {
  readonly schedules: number;
  readonly seed: number;
  /** Worker threads (default: the machine's parallelism). */
  readonly workers?: number;
  /** Seeds handed to a worker at a time. */
  readonly chunk?: number;
  /** Called for every finished schedule, in completion order. */
  readonly onCase?: (c: CaseSummary) => void;
  /** Aborted: no new chunk is handed out; the pool ends once the chunks in flight are done. */
  readonly signal?: AbortSignal;
}

export interface WorkRequest {
  readonly from: number;
  readonly count: number;
}

export type WorkerMessage =
  { readonly type: 'case'; readonly summary: CaseSummary } | { readonly type: 'idle' };

/** The worker module next to this one: the built JS, or the TypeScript source under tsx. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  return {
    url: new URL(ts ? './worker.ts' : './worker.js', import.meta.url),
    execArgv: ts ? ['--import', 'tsx'] : [],
  };
}

export async function runPool(options: PoolOptions): Promise<void> {
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), options.schedules));
  const chunk = options.chunk ?? 8;
  const end = options.seed + options.schedules;
  let next = options.seed;
  const { url, execArgv } = workerEntry();
  const generate: GenerateOptions = {
    ...(options.sites !== undefined ? { sites: options.sites } : {}),
    ...(options.durationSeconds !== undefined ? { durationSeconds: options.durationSeconds } : {}),
  };
  await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(url, { execArgv, workerData: generate });
          const feed = () => {
            if (next >= end || options.signal?.aborted) {
              void worker.terminate().then(() => resolve());
              return;
            }
            const count = Math.min(chunk, end - next);
            worker.postMessage({ from: next, count } satisfies WorkRequest);
            next += count;
          };
          worker.on('message', (m: WorkerMessage) => {
            if (m.type === 'case') options.onCase?.(m.summary);
            else feed();
          });
          worker.on('error', reject);
          worker.on('exit', (code) => {
            if (code !== 0 && next < end && !options.signal?.aborted)
              reject(new Error(`fuzz worker exited with code ${code}`));
          });
          // The worker says 'idle' when it is ready and after each chunk: one chunk at a time.
        }),
    ),
  );
}
