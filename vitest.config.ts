import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file runs in its own forked process: the native addon and tfjs's global engine are per process,
    // and training tests need the cores to themselves, so files run one at a time.
    pool: 'forks',
    fileParallelism: false,
    // The memory test forces collections to read resident memory without garbage the GC has not reached yet.
    execArgv: ['--expose-gc'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
