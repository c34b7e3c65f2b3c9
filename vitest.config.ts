import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real etcd members, servers and child processes: two cores, keep it modest.
    maxWorkers: 2,
  },
});
