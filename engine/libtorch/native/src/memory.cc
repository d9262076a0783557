// Moving data between JS and ATen, freeing it, and the addon's configuration (threads, device, memory cache,
// version).
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstring>

#include "allocator.h"
#include "checks.h"
#include "common.h"

namespace sqakd {
namespace {

size_t ElementSize(int32_t code) { return code == kBool ? 1 : 4; }

// write(typedArray, shape, dtypeCode) -> packed tensor
Napi::Value Write(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw std::invalid_argument("argument 0 must be a typed array");
  auto values = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = IntsArg(info, 1);
  int32_t code = static_cast<int32_t>(IntArg(info, 2));
  ScalarTypeOf(code);  // validates the code
  // Sizes are checked before multiplying: a product that overflows could match the data's length by accident.
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(numel, d, &numel) || numel > (int64_t{1} << 48)) {
      throw std::invalid_argument("write: shape " + ShapeString(shape) + " is not a valid tensor shape");
    }
  }
  size_t bytes = static_cast<size_t>(numel) * ElementSize(code);
  if (values.ByteLength() != bytes) {
    throw std::invalid_argument("write: " + std::to_string(values.ByteLength()) + " bytes of data for a tensor of " +
                                std::to_string(numel) + " elements (" + std::to_string(bytes) + " bytes)");
  }
  auto cpu = at::empty(shape, at::TensorOptions().dtype(code == kBool ? at::kByte : ScalarTypeOf(code)));
  if (bytes > 0) {
    const uint8_t* src = static_cast<const uint8_t*>(values.ArrayBuffer().Data()) + values.ByteOffset();
    std::memcpy(cpu.data_ptr(), src, bytes);
  }
  if (code == kBool) cpu = cpu.ne(0);  // tfjs may hand any non-zero byte for true
  return Pack(info.Env(), cpu.to(CurrentDevice()));
}

Napi::Value ToTypedArray(Napi::Env env, const at::Tensor& host) {
  size_t n = static_cast<size_t>(host.numel());
  switch (CodeOf(host.scalar_type())) {
    case kFloat32: {
      auto out = Napi::Float32Array::New(env, n);
      if (n) std::memcpy(out.Data(), host.data_ptr(), n * 4);
      return out;
    }
    case kInt32: {
      auto out = Napi::Int32Array::New(env, n);
      if (n) std::memcpy(out.Data(), host.data_ptr(), n * 4);
      return out;
    }
    default: {
      auto out = Napi::Uint8Array::New(env, n);
      if (n) std::memcpy(out.Data(), host.data_ptr(), n);
      return out;
    }
  }
}

at::Tensor HostCopy(const at::Tensor& t) { return t.to(at::kCPU).contiguous(); }

// read(handle) -> Float32Array | Int32Array | Uint8Array (bool)
Napi::Value Read(const Napi::CallbackInfo& info) { return ToTypedArray(info.Env(), HostCopy(TensorArg(info, 0))); }

// Copies a device tensor to the host off the JS thread, so `await tensor.data()` does not block on a GPU.
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, at::Tensor tensor)
      : Napi::AsyncWorker(env), tensor_(std::move(tensor)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      host_ = HostCopy(tensor_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      // Off the JS thread too, an escaping exception would terminate the process.
      SetError("readAsync failed with a C++ exception that is not a std::exception");
    }
  }
  void OnOK() override { deferred_.Resolve(ToTypedArray(Env(), host_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  at::Tensor tensor_, host_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value ReadAsync(const Napi::CallbackInfo& info) {
  auto* worker = new ReadWorker(info.Env(), TensorArg(info, 0));
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  Table().Release(static_cast<int32_t>(IntArg(info, 0)));
  return info.Env().Undefined();
}

// bytesRequested(): bytes asked of the CPU allocator so far (a double: exact below 2^53).
Napi::Value BytesRequestedValue(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(BytesRequested()));
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("liveTensors", static_cast<double>(Table().Live()));
  out.Set("storageBytes", static_cast<double>(Table().StorageBytes()));
  MemoryCacheStats cache = GetMemoryCacheStats();
  out.Set("cacheLimitBytes", static_cast<double>(cache.limit_bytes));
  out.Set("cachedBytes", static_cast<double>(cache.cached_bytes));
  out.Set("largeBlockBytes", static_cast<double>(cache.large_in_use));
  out.Set("cacheHits", static_cast<double>(cache.hits));
  out.Set("cacheMisses", static_cast<double>(cache.misses));
  out.Set("blocksReleased", static_cast<double>(cache.released));
  return out;
}

// setMemoryCache(bytes): the most freed tensor memory the caching allocator keeps for reuse (allocator.cc);
// beyond it, freed blocks go back to the OS. 0: none kept.
Napi::Value SetMemoryCache(const Napi::CallbackInfo& info) {
  double bytes = DoubleArg(info, 0);
  if (!(bytes >= 0) || bytes > 9007199254740992.0) {
    throw std::invalid_argument("setMemoryCache: the limit must be a number of bytes from 0 to 2^53");
  }
  SetMemoryCacheLimit(static_cast<size_t>(bytes));
  return info.Env().Undefined();
}

// emptyCache() -> bytes given back to the OS
Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(EmptyMemoryCache()));
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int64_t n = IntArg(info, 0);
  if (n < 1) throw std::invalid_argument("thread count must be at least 1");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

// useDevice('cpu' | 'cuda')
Napi::Value UseDevice(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0);
  if (name == "cpu") {
    SetCurrentDevice(at::Device(at::kCPU));
  } else if (name == "cuda") {
    if (!torch::cuda::is_available()) throw std::invalid_argument("device 'cuda' requested but this libtorch sees no CUDA device");
    // TF32 (on by default for cuDNN convolutions) keeps 10 mantissa bits, far outside the float32 tolerance CUDA
    // results must meet against the CPU; full-precision matmuls too. Both setters exist from libtorch 1.7 on, in
    // CPU builds as well (newer versions map them onto their per-backend precision settings).
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
    SetCurrentDevice(at::Device(at::kCUDA, 0));
  } else {
    throw std::invalid_argument("unknown device '" + name + "' (valid: cpu, cuda)");
  }
  return info.Env().Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  if (CurrentDevice().is_cuda()) torch::cuda::synchronize();
  return info.Env().Undefined();
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  at::manual_seed(static_cast<uint64_t>(IntArg(info, 0)));
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("torchVersion", TORCH_VERSION);
#ifdef SQAKD_WITH_CUDA
  out.Set("builtWithCuda", true);
#else
  out.Set("builtWithCuda", false);
#endif
  out.Set("cudaAvailable", torch::cuda::is_available());
  out.Set("cudaDeviceCount", static_cast<double>(torch::cuda::device_count()));
  out.Set("device", CurrentDevice().str());
  out.Set("threads", at::get_num_threads());
  out.Set("mkldnn", at::hasMKLDNN());
  out.Set("parallelInfo", at::get_parallel_info());
  return out;
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  Export<Write>(env, exports, "write");
  Export<Read>(env, exports, "read");
  Export<ReadAsync>(env, exports, "readAsync");
  Export<Release>(env, exports, "release");
  Export<Stats>(env, exports, "stats");
  Export<BytesRequestedValue>(env, exports, "bytesRequested");
  Export<SetMemoryCache>(env, exports, "setMemoryCache");
  Export<EmptyCache>(env, exports, "emptyCache");
  Export<SetThreads>(env, exports, "setThreads");
  Export<UseDevice>(env, exports, "useDevice");
  Export<Synchronize>(env, exports, "synchronize");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<Info>(env, exports, "info");
}

}  // namespace sqakd

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Before any tensor exists, so that every large block is the caching allocator's.
  sqakd::InstallCachingAllocator();
  sqakd::RegisterMemory(env, exports);
  sqakd::RegisterElementwise(env, exports);
  sqakd::RegisterReduction(env, exports);
  sqakd::RegisterConvolution(env, exports);
  sqakd::RegisterPooling(env, exports);
  sqakd::RegisterShape(env, exports);
  sqakd::RegisterCreation(env, exports);
  sqakd::RegisterLinalg(env, exports);
  sqakd::RegisterImage(env, exports);
  sqakd::RegisterBatchNorm(env, exports);
  sqakd::RegisterFakeQuantize(env, exports);
  sqakd::RegisterOptimizers(env, exports);
  sqakd::RegisterDirectBench(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(sqakd_libtorch, Init)
