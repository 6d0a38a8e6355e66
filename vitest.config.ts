import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One test file at a time: on 2 cores, two heavy files (a 2,000-recipient crash test beside a replay under
    // concurrent writers) starve each other past any sensible bound, and every file shares one Postgres server,
    // whose visibility horizon is cluster-wide.
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
  },
});
