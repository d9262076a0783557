// Global set-up of the training tests: every teacher they use is in the cache before the first file starts, so
// it is trained once per run of the suite (and none when a verified copy is cached), and no file's time holds it.
import { resolveDataDir } from '../../datasets/dataDir.ts';
import { initBackend } from '../../engine/index.ts';
import { cachedTeacher, MNIST_TEACHER, SYNTHETIC_TEACHER } from './teacherCache.ts';

/** The teachers of the training tests (methodSteps.test.ts, a quick test, caches its ResNet-20 one itself). */
const TEACHERS = [MNIST_TEACHER, SYNTHETIC_TEACHER];

/** vitest's globalSetup hook: trains whichever of TEACHERS is not cached. */
export default async function setup(): Promise<void> {
  const backend = await initBackend('libtorch');
  for (const request of TEACHERS) {
    const start = performance.now();
    const teacher = cachedTeacher(request, { dataDir: resolveDataDir(), backend });
    console.log(`teacher ${teacher.checkpoint}: ${teacher.trained ? `trained, ${((performance.now() - start) / 1000).toFixed(0)} s` : 'cached'}`);
  }
}
