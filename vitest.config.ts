import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A temporary folder per run, and a sweep for processes a timed-out test left running.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites start real servers and processes; two cores cannot run many at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
