/**
 * Runs schedules S..S+N-1 on worker threads (one per core by default). Schedule i always has
 * seed S+i, so a run finds the same things whatever the number of workers.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
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
  /**
   * Called for a schedule that could not be generated or run (its error), or whose worker died
   * running it; the run goes on with the other schedules (a fresh worker when one died).
   */
  readonly onError?: (e: ScheduleError) => void;
  /** Aborted: no new chunk is handed out; the pool ends once the chunks in flight are done. */
  readonly signal?: AbortSignal;
  /** The worker module (default src/sim/fuzz/worker): one that serves seeds with serveSeeds. */
  readonly worker?: URL;
}

/** A schedule that ended in an error instead of a verdict. */
export interface ScheduleError {
  readonly seed: number;
  readonly message: string;
}

export interface WorkRequest {
  readonly from: number;
  readonly count: number;
}

export type WorkerMessage =
  | { readonly type: 'case'; readonly summary: CaseSummary }
  | ({ readonly type: 'error' } & ScheduleError)
  | { readonly type: 'idle' };

/**
 * How to start a worker module: built JS as it is; TypeScript source (under vitest or tsx) through
 * a bootstrap that registers tsx first (Node 20 takes no `--import` in a worker's execArgv).
 */
function workerEntry(url?: URL): { code: URL | string; eval: boolean } {
  const entry =
    url ?? new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return { code: entry, eval: false };
  const api = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  return {
    code: `import(${JSON.stringify(api)}).then((t) => t.register()).then(() => import(${JSON.stringify(entry.href)}))`,
    eval: true,
  };
}

export async function runPool(options: PoolOptions): Promise<void> {
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), options.schedules));
  const chunk = options.chunk ?? 8;
  const end = options.seed + options.schedules;
  let next = options.seed;
  // Seeds a dead worker did not get to: the next worker takes them first.
  const retry: WorkRequest[] = [];
  const take = (): WorkRequest | undefined => {
    if (options.signal?.aborted) return undefined;
    const again = retry.shift();
    if (again !== undefined) return again;
    if (next >= end) return undefined;
    const count = Math.min(chunk, end - next);
    next += count;
    return { from: next - count, count };
  };
  const entry = workerEntry(options.worker);
  const generate: GenerateOptions = {
    ...(options.sites !== undefined ? { sites: options.sites } : {}),
    ...(options.durationSeconds !== undefined ? { durationSeconds: options.durationSeconds } : {}),
    ...(options.watches !== undefined ? { watches: options.watches } : {}),
  };
  // One worker at a time per slot; a worker that dies is replaced and its schedule recorded.
  const slot = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(entry.code, { eval: entry.eval, workerData: generate });
      let current: { from: number; count: number; done: number } | undefined;
      let served = false;
      let retired = false;
      const feed = () => {
        const w = take();
        if (w === undefined) {
          retired = true;
          current = undefined;
          void worker.terminate().then(() => resolve());
          return;
        }
        current = { ...w, done: 0 };
        worker.postMessage(w satisfies WorkRequest);
      };
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'idle') return feed();
        served = true;
        if (current) current.done++;
        if (m.type === 'case') options.onCase?.(m.summary);
        else options.onError?.({ seed: m.seed, message: m.message });
      });
      const died = (why: string) => {
        if (retired) return;
        retired = true;
        // A worker that dies before it took any seed (its module failed to load): no worker can
        // run schedules here, stop.
        if (!served && current === undefined) return reject(new Error(why));
        if (current !== undefined && current.done < current.count) {
          const seed = current.from + current.done;
          options.onError?.({ seed, message: `${why} while running this schedule` });
          if (current.done + 1 < current.count)
            retry.push({ from: seed + 1, count: current.count - current.done - 1 });
        }
        current = undefined;
        slot().then(resolve, reject);
      };
      worker.on('error', (err) => died(`the fuzz worker failed: ${err.message}`));
      worker.on('exit', (code) => died(`the fuzz worker exited with code ${code}`));
      // The worker says 'idle' when it is ready and after each chunk: one chunk at a time.
    });
  await Promise.all(Array.from({ length: workers }, () => slot()));
}
