// Kernels that create tensors from attributes: Fill, Range, LinSpace, Multinomial.
#include <ATen/CPUGeneratorImpl.h>

#include "common.h"

namespace sqakd {
namespace {

// fill(shape, value, dtype)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  int32_t dtype = static_cast<int32_t>(IntArg(info, 2));
  return Pack(info.Env(), at::full(IntsArg(info, 0), DoubleArg(info, 1), Options(ScalarTypeOf(dtype))));
}

// range(start, step, count, dtype): start + i * step for i < count (JS has computed the count as tfjs does)
Napi::Value Range(const Napi::CallbackInfo& info) {
  double start = DoubleArg(info, 0), step = DoubleArg(info, 1);
  int64_t count = IntArg(info, 2);
  int32_t dtype = static_cast<int32_t>(IntArg(info, 3));
  at::Tensor values = at::arange(count, Options(at::kDouble)).mul(step).add(start);
  return Pack(info.Env(), values, dtype);
}

// linspace(start, stop, num)
Napi::Value LinSpace(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), at::linspace(DoubleArg(info, 0), DoubleArg(info, 1), IntArg(info, 2), Options(at::kFloat)));
}

// multinomial(logitsOrProbs, numSamples, seed, normalized) -> int32 [batch, numSamples], with replacement
Napi::Value Multinomial(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  int64_t samples = IntArg(info, 1);
  uint64_t seed = static_cast<uint64_t>(IntArg(info, 2));
  bool normalized = BoolArg(info, 3);
  at::Tensor probs = (normalized ? x : at::softmax(x, -1)).to(at::kCPU).to(at::kDouble);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return Pack(info.Env(), at::multinomial(probs, samples, /*replacement=*/true, gen).to(CurrentDevice()), kInt32);
}

}  // namespace

void RegisterCreation(Napi::Env env, Napi::Object exports) {
  Export<Fill>(env, exports, "fill");
  Export<Range>(env, exports, "range");
  Export<LinSpace>(env, exports, "linspace");
  Export<Multinomial>(env, exports, "multinomial");
}

}  // namespace sqakd
