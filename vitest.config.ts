import { defineConfig } from 'vitest/config';

/**
 * Two groups, one after the other: the unit and integration suites in parallel, then the
 * real-time end-to-end suites one file at a time (they run whole landscapes with short leases,
 * and on a two-core machine they should not compete with each other for the CPU).
 */
const realTime = [
  'test/e2e/**/*.test.ts',
  'test/agent/failover.test.ts',
  'test/coordination/agent-failover.test.ts',
  'test/chaos/chaos.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    globalSetup: ['test/support/global-setup.ts'],
    hookTimeout: 60_000,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: realTime,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: realTime,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
