/** A fuzz worker thread: runs the seeds it is handed and posts one summary per schedule. */
import { parentPort, workerData } from 'node:worker_threads';
import type { GenerateOptions } from './generate.js';
import type { WorkerMessage, WorkRequest } from './pool.js';
import { runSeed } from './summary.js';

const port = parentPort;
if (!port) throw new Error('the fuzz worker runs in a worker thread');
const options = workerData as GenerateOptions;
let queue = Promise.resolve();

port.on('message', (w: WorkRequest) => {
  queue = queue.then(async () => {
    for (let seed = w.from; seed < w.from + w.count; seed++) {
      port.postMessage({ type: 'case', summary: await runSeed(seed, options) } satisfies WorkerMessage);
    }
    port.postMessage({ type: 'idle' } satisfies WorkerMessage);
  });
});
port.postMessage({ type: 'idle' } satisfies WorkerMessage);
