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

/**
 * Run once per build (on the first, Node 20 pass) and left out of CI's second pass on Node 24
 * (`npm run test:node24` sets HANASR_SECOND_PASS=1): the fresh-clone README test (a second `npm ci`),
 * spin's model check (no Node code), and the two longest real-process runs, whose parts (agents,
 * operator, demo, simulator) the other e2e tests run on Node 24 too: the chaos short form and the
 * two-region demo. Together about six minutes of the second pass, to keep CI inside 30 minutes.
 */
const oncePerBuild =
  process.env.HANASR_SECOND_PASS === '1'
    ? [
        'test/e2e/readme.test.ts',
        'test/model/model-check.test.ts',
        'test/chaos/chaos.test.ts',
        'test/e2e/demo-regions.test.ts',
      ]
    : [];

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
          exclude: [...realTime, ...oncePerBuild],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: realTime,
          exclude: oncePerBuild,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
