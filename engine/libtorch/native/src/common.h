// Shared plumbing of the addon: the tensor table, dtype codes, argument readers, result packing and the guard that
// turns every C++ exception into a JavaScript Error.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sqakd {

// tfjs dtypes the backend stores. ATen results of any other dtype are cast to one of these before they reach JS.
enum DTypeCode : int32_t { kFloat32 = 0, kInt32 = 1, kBool = 2 };

at::ScalarType ScalarTypeOf(int32_t code);
int32_t CodeOf(at::ScalarType type);

// Owns every tensor JS holds a handle to. JS tensors are immutable, so handles may share storage (views).
class TensorTable {
 public:
  int32_t Put(at::Tensor tensor);
  const at::Tensor& Get(int32_t handle) const;
  void Release(int32_t handle);
  int64_t Live() const { return live_; }
  // Bytes of distinct storages held (views of one storage count once).
  int64_t StorageBytes() const;

 private:
  std::vector<at::Tensor> slots_;
  std::vector<int32_t> free_;
  int64_t live_ = 0;
};

TensorTable& Table();

// The device new tensors are created on (CPU, or CUDA when the linked libtorch has it and it was chosen).
const at::Device& CurrentDevice();
void SetCurrentDevice(const at::Device& device);
at::TensorOptions Options(at::ScalarType type);

// Argument readers; each throws a descriptive error when the argument has the wrong kind.
const at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> IntsArg(const Napi::CallbackInfo& info, size_t i);
std::vector<double> DoublesArg(const Napi::CallbackInfo& info, size_t i);
int64_t IntArg(const Napi::CallbackInfo& info, size_t i);
double DoubleArg(const Napi::CallbackInfo& info, size_t i);
bool BoolArg(const Napi::CallbackInfo& info, size_t i);
std::string StringArg(const Napi::CallbackInfo& info, size_t i);
bool IsMissing(const Napi::CallbackInfo& info, size_t i);

// Floating values to int32 as JS stores them in an Int32Array (ToInt32): truncated toward zero, NaN and ±inf
// become 0, and values outside the int32 range wrap modulo 2^32. ATen's own conversion leaves those undefined.
at::Tensor JsToInt32(const at::Tensor& x);

// Converts a result to a dtype tfjs knows, stores it and returns [handle, dtypeCode, ...dims].
Napi::Value Pack(Napi::Env env, at::Tensor result);
// Same, casting to the dtype the tfjs kernel contract asks for (floating -> int32 with JsToInt32).
Napi::Value Pack(Napi::Env env, const at::Tensor& result, int32_t dtype_code);
Napi::Value PackList(Napi::Env env, const std::vector<at::Tensor>& results);

// NHWC <-> NCHW views: an NHWC-contiguous tensor permuted to NCHW is channels-last, which ATen convolves directly.
inline at::Tensor ToNCHW(const at::Tensor& x, bool nchw) { return nchw ? x : x.permute({0, 3, 1, 2}); }
inline at::Tensor FromNCHW(const at::Tensor& y, bool nchw) { return nchw ? y : y.permute({0, 2, 3, 1}); }

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

// Runs a binding, converting ATen (c10::Error) and standard exceptions into a JS Error with a one-line message.
// Anything else thrown is caught too: an exception escaping into N-API would terminate the process.
// info.Data() is the binding's name (see Export).
template <Callback F>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  } catch (...) {
    const char* name = static_cast<const char*>(info.Data());
    throw Napi::Error::New(info.Env(), std::string("addon function ") + (name ? name : "?") +
                                           " failed with a C++ exception that is not a std::exception");
  }
}

// `name` must outlive the addon (a string literal): Guarded reads it back to name the binding in errors.
template <Callback F>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<Guarded<F>>(env, name, const_cast<char*>(name)));
}

// Each kernels_*.cc file registers its bindings here.
void RegisterMemory(Napi::Env env, Napi::Object exports);
void RegisterElementwise(Napi::Env env, Napi::Object exports);
void RegisterReduction(Napi::Env env, Napi::Object exports);
void RegisterConvolution(Napi::Env env, Napi::Object exports);
void RegisterPooling(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterCreation(Napi::Env env, Napi::Object exports);
void RegisterLinalg(Napi::Env env, Napi::Object exports);
void RegisterImage(Napi::Env env, Napi::Object exports);
void RegisterBatchNorm(Napi::Env env, Napi::Object exports);
void RegisterFakeQuantize(Napi::Env env, Napi::Object exports);
void RegisterOptimizers(Napi::Env env, Napi::Object exports);
void RegisterDirectBench(Napi::Env env, Napi::Object exports);

}  // namespace sqakd
