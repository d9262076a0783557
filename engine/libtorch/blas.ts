// Which BLAS library the loaded libtorch does its matrix products with. Debian's libtorch calls the system
// libblas.so.3, and the one installed by default there is the unoptimised reference BLAS: measured 14x slower than
// OpenBLAS at the batched products of RKD's triplet angles (convolutions go through oneDNN and do not care).
import { readFileSync } from 'node:fs';

export interface BlasInfo {
  /** The BLAS shared library mapped into this process, or a phrase when none is (MKL linked in statically). */
  library: string;
  /** True for the reference (Netlib) BLAS. */
  reference: boolean;
}

export const REFERENCE_BLAS_WARNING = 'sqakd: libtorch is using the reference BLAS, about 14x slower than OpenBLAS at ' +
  'matrix products (RKD, CRD, NST, SP, CC); install an optimised one (Debian/Ubuntu: apt-get install libopenblas0-openmp)';

/** The BLAS this process has loaded, read from /proc/self/maps (Linux); call after the addon has loaded. */
export function loadedBlas(maps = readProcessMaps()): BlasInfo {
  const libraries = [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter(Boolean))];
  // libtorch takes its BLAS symbols from libblas.so.3; an OpenBLAS may be mapped too (as the LAPACK alternative)
  // while the reference libblas still answers every product, so the reference one decides when present.
  const reference = libraries.find((path) => /\/blas\/libblas\.so/.test(path));
  if (reference) return { library: reference, reference: true };
  const optimised = libraries.find((path) => /\/lib(open)?blas[^/]*\.so|\/libmkl_[^/]*\.so/.test(path));
  return { library: optimised ?? (maps ? 'none loaded as a shared library (linked into libtorch)' : 'unknown'), reference: false };
}

function readProcessMaps(): string {
  try {
    return readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return '';
  }
}
