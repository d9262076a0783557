// The addon's CPU allocator: large tensor blocks are kept in a size-limited cache for reuse (see allocator.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sqakd {

struct MemoryCacheStats {
  size_t limit_bytes;      // the most the cache may hold
  size_t cached_bytes;     // held free, for reuse (mapped sizes)
  size_t large_in_use;     // bytes of large blocks tensors hold now
  uint64_t hits;           // large allocations served from the cache
  uint64_t misses;         // large allocations mapped fresh
  uint64_t released;       // cached or freed blocks given back to the OS
};

// Installs the caching allocator as ATen's CPU allocator (once per process; later calls do nothing).
void InstallCachingAllocator();
// Sets the cache's size limit, giving back the least recently freed blocks beyond it.
void SetMemoryCacheLimit(size_t bytes);
// Gives every cached block back to the OS (and, with glibc, trims malloc's heap); returns the bytes released.
size_t EmptyMemoryCache();
MemoryCacheStats GetMemoryCacheStats();
// Bytes asked of ATen's CPU allocator since the process started (small and large blocks alike).
uint64_t BytesRequested();

}  // namespace sqakd
