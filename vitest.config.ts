import { defineConfig } from 'vitest/config';

/**
 * The files that train for more than a few steps (real data, whole epochs, child processes that train):
 * `npm test` runs them, `npm run test:quick` leaves them out.
 */
const TRAINING = [
  'test/engine/training.test.ts',
  'test/engine/memory.test.ts',
  'test/runs/mnist*.test.ts',
  'test/runs/teacherCache.test.ts',
  'test/runs/resume.test.ts',
  'test/runs/preStageResume.test.ts',
  'test/runs/ewgsHessianRun.test.ts',
  'test/runs/badInput.test.ts',
  'test/runs/matrix/runner.test.ts',
  'test/runs/matrix/redisQueue.test.ts',
  'test/runs/matrix/progressRun.test.ts',
  'test/runs/matrix/landscapeJobs.test.ts',
  'test/runs/safetensors.test.ts',
  'test/runs/runRecords.test.ts',
];

const shared = {
  // Each file runs in its own forked process: the native addon and tfjs's global engine are per process,
  // and training tests need the cores to themselves, so files run one at a time.
  pool: 'forks' as const,
  fileParallelism: false,
  // The memory test forces collections to read resident memory without garbage the GC has not reached yet.
  execArgv: ['--expose-gc'],
  // Training tests take minutes on a quiet 2-core machine and several times that on a busy one.
  testTimeout: 1_800_000,
  hookTimeout: 1_800_000,
};

export default defineConfig({
  test: {
    ...shared,
    // Per-file times for `npm run test:times` (the 15 slowest files), written on every run.
    reporters: ['default', ['json', { outputFile: '.cache/vitest/report.json' }]],
    projects: [
      { test: { ...shared, name: 'quick', include: ['test/**/*.test.ts'], exclude: TRAINING } },
      { test: { ...shared, name: 'training', include: TRAINING, globalSetup: ['test/support/trainTeachers.ts'] } },
    ],
  },
});
