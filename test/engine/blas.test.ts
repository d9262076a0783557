import { describe, expect, it } from 'vitest';

import { loadedBlas } from '../../engine/libtorch/blas.ts';

const line = (path: string) => `7f3a2c000000-7f3a2c100000 r-xp 00000000 08:01 123456                     ${path}`;

describe('loadedBlas', () => {
  it('recognises Debian\'s reference BLAS as the slow one', () => {
    // OpenBLAS mapped first (as the LAPACK alternative) does not help: the reference libblas answers the products.
    const maps = [line('/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so'),
      line('/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13'), line('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0')].join('\n');
    expect(loadedBlas(maps)).toEqual({ library: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0', reference: true });
  });

  it('recognises OpenBLAS and MKL as optimised', () => {
    const openblas = line('/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so');
    expect(loadedBlas(openblas)).toEqual({ library: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so', reference: false });
    expect(loadedBlas(line('/opt/libtorch/lib/libmkl_intel_lp64.so.2')).reference).toBe(false);
  });

  it('says so when no BLAS library is mapped (MKL linked into libtorch) and when /proc cannot be read', () => {
    expect(loadedBlas(line('/opt/libtorch/lib/libtorch_cpu.so')).library).toMatch(/^none loaded/);
    expect(loadedBlas('')).toEqual({ library: 'unknown', reference: false });
  });
});
