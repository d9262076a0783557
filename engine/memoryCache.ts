// The libtorch backend's memory cache as the rest of the suite sees it: freed tensor memory that the addon's
// caching CPU allocator keeps for reuse, at most its limit (SQAKD_MEMORY_CACHE; default 1/8 of the machine's
// memory). On other backends, or before libtorch is loaded, these do nothing.
import { loadedAddon, memoryCacheInfoOf, type MemoryCacheInfo, memoryCacheLimitBytes } from './libtorch/addon.ts';

export { DEFAULT_MEMORY_CACHE_FRACTION, defaultMemoryCacheLimit, type MemoryCacheInfo } from './libtorch/addon.ts';

/**
 * Gives the cached blocks back to the OS (and trims malloc's heap); returns the bytes of cached blocks released
 * (0 without libtorch). Call it between phases, e.g. before a long evaluation-only phase: the next training steps
 * fault their memory in again, so not every step.
 */
export function emptyCache(): number {
  return loadedAddon()?.emptyCache() ?? 0;
}

/** Sets the cache's limit: bytes or a size string ('2GiB'); 0 keeps nothing. Blocks beyond it go back at once. */
export function setMemoryCacheLimit(limit: number | string): void {
  const bytes = memoryCacheLimitBytes(limit);
  loadedAddon()?.setMemoryCache(bytes);
}

/** The cache's limit, contents and hit counts, or undefined without libtorch. */
export function memoryCacheInfo(): MemoryCacheInfo | undefined {
  const addon = loadedAddon();
  return addon && memoryCacheInfoOf(addon.stats());
}
