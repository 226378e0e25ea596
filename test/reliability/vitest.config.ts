import { defineConfig } from 'vitest/config';

// The reliability suite: faults, hostile input, load. Run by `npm run test:reliability`
// (test/reliability/run.ts), which also prints the figures the tests record.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // the soak calls gc() before each RSS sample so it measures retained memory, not GC timing
    execArgv: ['--expose-gc'],
    // One file at a time: load tests measure latency and must not share 2 cores with each other.
    fileParallelism: false,
  },
});
