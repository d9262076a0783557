#!/usr/bin/env node
// Locates a libtorch to build the addon against and prints what binding.gyp asks for.
// Search order: $LIBTORCH (a standalone libtorch or the `torch` folder of a PyTorch installation, CPU or CUDA),
// then Debian/Ubuntu's libtorch-dev, then the PyTorch that `python3` imports.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SYSTEM_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];

function fromPrefix(prefix, origin) {
  const include = join(prefix, 'include');
  const lib = join(prefix, 'lib');
  if (!existsSync(join(include, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  return { origin, prefix, includeDirs: [include, join(include, 'torch', 'csrc', 'api', 'include')], libDir: lib };
}

function fromSystem() {
  if (!existsSync('/usr/include/ATen/ATen.h')) return null;
  const libDir = SYSTEM_LIB_DIRS.find((d) => existsSync(join(d, 'libtorch_cpu.so')));
  if (!libDir) return null;
  return { origin: 'system (libtorch-dev)', prefix: '/usr', includeDirs: ['/usr/include/torch/csrc/api/include'], libDir };
}

function fromPython() {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const dir = execFileSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      const found = dir && fromPrefix(dir, `PyTorch (${python})`);
      if (found) return found;
    } catch { /* this python has no torch */ }
  }
  return null;
}

/** Finds libtorch or returns null; throws when $LIBTORCH is set but is not a libtorch. */
export function findLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const found = fromPrefix(env, '$LIBTORCH');
    if (!found) throw new Error(`LIBTORCH=${env} has no include/ATen/ATen.h and lib/libtorch_cpu.so; point it at a libtorch folder or at the torch/ folder of a PyTorch installation`);
    return finish(found);
  }
  const found = fromSystem() ?? fromPython();
  return found ? finish(found) : null;
}

function finish(found) {
  const libs = readdirSync(found.libDir);
  const cuda = libs.includes('libtorch_cuda.so');
  return { ...found, cuda, cxx11Abi: usesCxx11Abi(join(found.libDir, 'libc10.so')), openmp: usesOpenMP(found) };
}

// ATen's at::parallel_for is inline code that parallelises with `#pragma omp` when libtorch was built with OpenMP;
// compiled without -fopenmp it silently runs on one thread.
function usesOpenMP(found) {
  const config = [...found.includeDirs, join(found.prefix, 'include'), '/usr/include']
    .map((dir) => join(dir, 'ATen', 'Config.h')).find((path) => existsSync(path));
  return config ? /#define AT_PARALLEL_OPENMP 1/.test(readFileSync(config, 'utf8')) : false;
}

// Debian's libtorch uses the C++11 string ABI; older PyTorch wheels do not. The addon must match, or it fails to
// link at load time with undefined std::string symbols.
function usesCxx11Abi(libc10) {
  try {
    const symbols = execFileSync('nm', ['-D', '--defined-only', libc10], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return symbols.includes('__cxx11');
  } catch {
    return true;
  }
}

function gypOutput(what, lt) {
  switch (what) {
    case 'cflags':
      return [...lt.includeDirs.flatMap((d) => ['-isystem', d]), `-D_GLIBCXX_USE_CXX11_ABI=${lt.cxx11Abi ? 1 : 0}`,
        ...(lt.cuda ? ['-DSQAKD_WITH_CUDA=1'] : []), ...(lt.openmp ? ['-fopenmp'] : [])].join(' ');
    case 'ldflags': {
      const rpath = lt.prefix === '/usr' ? [] : [`-Wl,-rpath,${lt.libDir}`];
      return [`-L${lt.libDir}`, ...rpath, ...(lt.openmp ? ['-fopenmp'] : [])].join(' ');
    }
    case 'libs':
      // --no-as-needed keeps libtorch_cuda linked although no symbol of it is referenced: loading it is what
      // registers ATen's CUDA kernels.
      return (lt.cuda ? ['-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed'] : [])
        .concat(['-ltorch', '-ltorch_cpu', '-lc10']).join(' ');
    default:
      throw new Error(`find-libtorch: unknown query '${what}' (valid: cflags, ldflags, libs, --json)`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const what = process.argv[2] ?? '--json';
  const lt = findLibtorch();
  if (!lt) {
    console.error('find-libtorch: no libtorch found (set LIBTORCH, or apt-get install libtorch-dev)');
    process.exit(1);
  }
  console.log(what === '--json' ? JSON.stringify(lt, null, 2) : gypOutput(what, lt));
}
