// How many NVIDIA GPUs this machine offers the matrix's workers: CUDA_VISIBLE_DEVICES when set, else nvidia-smi's
// list, else none.
import { execaSync } from 'execa';

/** The number of GPUs workers can be spread over (0 without CUDA). */
export function gpuCount(): number {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) return visible.split(',').filter((d) => d.trim() !== '' && d.trim() !== '-1').length;
  try {
    const { stdout } = execaSync('nvidia-smi', ['-L'], { reject: true, timeout: 10_000 });
    return stdout.split('\n').filter((l) => l.startsWith('GPU ')).length;
  } catch {
    return 0;
  }
}
