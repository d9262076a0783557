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
    // Training tests take minutes on a quiet 2-core machine and several times that on a busy one.
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
  },
});
