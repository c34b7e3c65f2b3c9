/** A fuzz worker thread: runs the seeds it is handed and posts one summary per schedule. */
import { workerData } from 'node:worker_threads';
import type { GenerateOptions } from './generate.js';
import { serveSeeds } from './serve.js';
import { runSeed } from './summary.js';

const options = workerData as GenerateOptions;
serveSeeds((seed) => runSeed(seed, options));
