// The reference side of the engine benchmark: a conv layer's training step (forward, input gradient, filter
// gradient) made directly from C++ with the same ATen calls the kernels make, so that timing it beside the same
// step through tfjs measures only what the binding and tfjs add.
#include <chrono>

#include <torch/cuda.h>

#include "checks.h"
#include "common.h"
#include "convolution.h"

namespace sqakd {
namespace {

// directConvStep(x, filter, dy, geometry, iterations) -> milliseconds for all iterations together
Napi::Value DirectConvStep(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& filter = TensorArg(info, 1);
  const at::Tensor& dy = TensorArg(info, 2);
  const ConvGeometry g = GeometryFromArray(IntsArg(info, 3));
  int64_t iterations = IntArg(info, 4);
  // ConvBackwardInput reads four entries of x's shape.
  CheckRank("directConvStep", "x", x, 4);
  CheckRank("directConvStep", "filter", filter, 4);
  CheckRank("directConvStep", "dy", dy, 4);
  const bool cuda = x.device().is_cuda();
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    at::Tensor w = FilterToOIHW(filter);
    at::Tensor y = ConvForward(x, w, g);
    at::Tensor dx = ConvBackwardInput(dy, w, x.sizes(), g);
    at::Tensor dw = FilterFromOIHW(ConvBackwardFilter(x, dy, w.sizes(), g));
  }
  if (cuda) torch::cuda::synchronize();
  auto elapsed = std::chrono::steady_clock::now() - start;
  return Napi::Number::New(info.Env(), std::chrono::duration<double, std::milli>(elapsed).count());
}

}  // namespace

void RegisterDirectBench(Napi::Env env, Napi::Object exports) {
  Export<DirectConvStep>(env, exports, "directConvStep");
}

}  // namespace sqakd
