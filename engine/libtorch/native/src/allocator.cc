// A caching CPU allocator for ATen, after PyTorch's CUDA caching allocator: freed large blocks stay mapped for
// the next tensor of about their size, up to a size limit; blocks beyond it go back to the OS.
//
// Why: every activation of a training step is megabytes, and a fresh mapping faults each of its 4 KiB pages in on
// first touch (measured: 8,000 page faults and ~30% of a ResNet-20 conv step when glibc mapped and unmapped them
// per tensor). Before this allocator, glibc was told never to map or trim (mallopt), which kept the speed but let
// the heap grow without bound under tensors of varying sizes (fragmentation: +1.3 GiB over 40 frees of
// 16-64 M floats). Here reuse is bounded: what the process holds is the live tensors plus at most the limit.
//
// - Blocks of kLargeBlock (1 MiB) and more are mmap'd, rounded up to a size class (4 per power of two, so at most
//   25% more address space; pages a tensor never touches are never resident), and on free either cached or
//   munmap'd. Smaller blocks go to the allocator that was installed before (c10's default, posix_memalign).
// - A request takes the most recently freed cached block of the smallest size class at least as large, up to
//   1.5 times the request (kMaxOversizeNum / kMaxOversizeDen), so near sizes share blocks.
// - The cache holds at most `limit` bytes (mapped sizes); freeing beyond it gives back the least recently freed
//   blocks first. Limit 0: no cache (SQAKD_RELEASE_MEMORY=1).
// - The limit comes from the TypeScript side (SQAKD_MEMORY_CACHE, default 1/8 of the machine's memory; see
//   engine/libtorch/addon.ts); until it is set, 1/8 of physical memory.
// - Thread safe (ATen frees from worker threads): one mutex around the maps; mmap/munmap run outside it.
// - Every large block has context == data pointer and the same deleter, as raw_allocate/raw_deallocate require
//   (oneDNN's ideep allocates through them); the deleter hands pointers it did not map to the previous allocator.
#include "allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// libtorch 2.3 made Allocator::allocate non-const and added the pure virtual copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define SQAKD_ALLOCATE_CONST
#define SQAKD_HAS_COPY_DATA 1
#else
#define SQAKD_ALLOCATE_CONST const
#define SQAKD_HAS_COPY_DATA 0
#endif

namespace sqakd {
namespace {

constexpr size_t kLargeBlock = size_t{1} << 20;
// A cached block serves requests down to 1/kMaxOversize of its size.
constexpr size_t kMaxOversizeNum = 3, kMaxOversizeDen = 2;
// Beyond this a request is refused before any rounding could overflow (256 TiB).
constexpr size_t kMaxRequest = size_t{1} << 48;

// Four size classes per power of two: 1, 1.25, 1.5, 1.75 times it.
size_t RoundSize(size_t n) {
  size_t p = size_t{1} << (63 - __builtin_clzll(static_cast<unsigned long long>(n)));
  size_t step = p / 4;
  return (n + step - 1) / step * step;
}

size_t PhysicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : size_t{8} << 30;
}

void FreeBlock(void* ptr);

// Every byte ever asked of the allocator (the kernel profiler reads its growth across each kernel).
std::atomic<uint64_t> g_bytes_requested{0};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* previous)
      : previous_(previous), previous_raw_deleter_(previous->raw_deleter()), limit_(PhysicalMemory() / 8) {}

  c10::DataPtr allocate(size_t n) SQAKD_ALLOCATE_CONST override {
    g_bytes_requested.fetch_add(n, std::memory_order_relaxed);
    if (n < kLargeBlock) return previous_->allocate(n);
    void* ptr = const_cast<CachingCpuAllocator*>(this)->AllocateLarge(n);
    return {ptr, ptr, &FreeBlock, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &FreeBlock; }

#if SQAKD_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#endif

  void Free(void* ptr) {
    if (ptr == nullptr) return;
    size_t size = 0;
    bool cached = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(ptr);
      if (it != live_.end()) {
        size = it->second;
        live_.erase(it);
        in_use_ -= size;
        if (size <= limit_) {
          try {
            free_[size].push_back({ptr, ++clock_});
            cached_ += size;
            cached = true;
          } catch (const std::bad_alloc&) {
            // No memory for the bookkeeping (a deleter must not throw): give the block back instead.
          }
        }
        if (!cached) ++released_;
      }
    }
    if (size == 0) {
      // Not mapped here: a small block, or one allocated before this allocator was installed.
      FreeSmall(ptr);
    } else if (cached) {
      Trim();
    } else {
      Unmap(ptr, size);
    }
  }

  void SetLimit(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      limit_ = bytes;
    }
    Trim();
  }

  size_t Empty() {
    std::vector<std::pair<void*, size_t>> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [size, entries] : free_) {
        for (const Entry& e : entries) blocks.emplace_back(e.ptr, size);
      }
      free_.clear();
      cached_ = 0;
      released_ += blocks.size();
    }
    size_t bytes = 0;
    for (auto& [ptr, size] : blocks) {
      Unmap(ptr, size);
      bytes += size;
    }
    return bytes;
  }

  MemoryCacheStats Stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {limit_, cached_, in_use_, hits_, misses_, released_};
  }

 private:
  struct Entry {
    void* ptr;
    uint64_t freed_at;
  };

  void* AllocateLarge(size_t n) {
    if (n > kMaxRequest) {
      TORCH_CHECK(false, "CPU allocator: cannot allocate ", n, " bytes (more than 2^48)");
    }
    const size_t size = RoundSize(n);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first / kMaxOversizeNum * kMaxOversizeDen <= size) {
        void* ptr = it->second.back().ptr;
        const size_t got = it->first;
        live_.emplace(ptr, got);  // first: if it throws, the block stays cached
        it->second.pop_back();
        if (it->second.empty()) free_.erase(it);
        cached_ -= got;
        in_use_ += got;
        ++hits_;
        return ptr;
      }
      ++misses_;
    }
    void* ptr = Map(size);
    if (ptr == nullptr) {
      Empty();
      ptr = Map(size);
    }
    if (ptr == nullptr) {
      TORCH_CHECK(false, "CPU allocator: not enough memory: you tried to allocate ", n, " bytes (",
                  std::strerror(errno), ")");
    }
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.emplace(ptr, size);
      in_use_ += size;
    } catch (...) {
      Unmap(ptr, size);
      throw;
    }
    return ptr;
  }

  static void* Map(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }

  static void Unmap(void* ptr, size_t size) { munmap(ptr, size); }

  void FreeSmall(void* ptr) {
    if (previous_raw_deleter_ != nullptr) {
      previous_raw_deleter_(ptr);
    } else {
      std::free(ptr);  // c10's allocators take their blocks from posix_memalign
    }
  }

  // Gives back the least recently freed blocks while the cache holds more than its limit.
  void Trim() {
    for (;;) {
      void* ptr;
      size_t size;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (cached_ <= limit_) return;
        auto oldest = free_.begin();
        for (auto it = free_.begin(); it != free_.end(); ++it) {
          if (it->second.front().freed_at < oldest->second.front().freed_at) oldest = it;
        }
        ptr = oldest->second.front().ptr;
        size = oldest->first;
        oldest->second.erase(oldest->second.begin());
        if (oldest->second.empty()) free_.erase(oldest);
        cached_ -= size;
        ++released_;
      }
      Unmap(ptr, size);
    }
  }

  c10::Allocator* const previous_;
  const c10::DeleterFnPtr previous_raw_deleter_;
  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;     // large blocks tensors hold: pointer -> mapped size
  std::map<size_t, std::vector<Entry>> free_;  // cached blocks by mapped size, oldest first
  size_t limit_;
  size_t cached_ = 0, in_use_ = 0;
  uint64_t clock_ = 0, hits_ = 0, misses_ = 0, released_ = 0;
};

// Never destroyed: tensors may be freed during static destruction at exit, after any static allocator would be.
CachingCpuAllocator* g_allocator = nullptr;

void FreeBlock(void* ptr) { g_allocator->Free(ptr); }

}  // namespace

void InstallCachingAllocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_allocator = new CachingCpuAllocator(c10::GetCPUAllocator());
    // Priority 1 outranks c10's default (0), which registers itself during static initialisation.
    c10::SetCPUAllocator(g_allocator, 1);
  });
}

void SetMemoryCacheLimit(size_t bytes) { g_allocator->SetLimit(bytes); }

size_t EmptyMemoryCache() {
  size_t bytes = g_allocator->Empty();
#if defined(__GLIBC__)
  malloc_trim(0);  // small blocks and JS-side buffers freed to malloc's heap
#endif
  return bytes;
}

MemoryCacheStats GetMemoryCacheStats() { return g_allocator->Stats(); }

uint64_t BytesRequested() { return g_bytes_requested.load(std::memory_order_relaxed); }

}  // namespace sqakd
