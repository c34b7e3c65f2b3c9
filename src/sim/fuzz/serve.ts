/**
 * The message loop of a fuzz worker thread (src/sim/fuzz/worker.ts): runs the seeds it is handed,
 * one chunk at a time, and posts a summary per schedule, or the error of a schedule that could
 * not be generated or run (the pool records it and the run goes on).
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerMessage, WorkRequest } from './pool.js';
import type { CaseSummary } from './summary.js';

export function serveSeeds(run: (seed: number) => Promise<CaseSummary>): void {
  const port = parentPort;
  if (!port) throw new Error('the fuzz worker runs in a worker thread');
  let queue = Promise.resolve();
  port.on('message', (w: WorkRequest) => {
    queue = queue.then(async () => {
      for (let seed = w.from; seed < w.from + w.count; seed++) {
        let message: WorkerMessage;
        try {
          message = { type: 'case', summary: await run(seed) };
        } catch (err) {
          message = {
            type: 'error',
            seed,
            message: err instanceof Error ? (err.stack ?? err.message) : String(err),
          };
        }
        port.postMessage(message);
      }
      port.postMessage({ type: 'idle' } satisfies WorkerMessage);
    });
  });
  port.postMessage({ type: 'idle' } satisfies WorkerMessage);
}
