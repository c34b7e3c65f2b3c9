/**
 * A fuzz worker whose schedule 4243 cannot be generated (its generator throws, as a generator
 * that drew a setting the schema refuses did) and whose thread dies on schedule 4245; every other
 * seed runs for real. For test/sim/fuzz-errors.test.ts.
 */
import { serveSeeds } from '../../src/sim/fuzz/serve.js';
import { runSeed } from '../../src/sim/fuzz/summary.js';

serveSeeds(async (seed) => {
  if (seed === 4243) throw new Error('workload.writesPerSecond: too big (drawn for this seed)');
  if (seed === 4245) process.exit(7);
  return runSeed(seed);
});
