// Conv2D / DepthwiseConv2dNative and their two backprop kernels.
// `geometry` is [strideH, strideW, dilationH, dilationW, top, bottom, left, right, nchw(0|1)], computed in JS by
// tfjs's own conv_util so that output shapes match tfjs exactly.
#include "checks.h"
#include "common.h"
#include "convolution.h"

namespace sqakd {
namespace {

ConvGeometry GeometryArg(const Napi::CallbackInfo& info, size_t i, int64_t groups) {
  return GeometryFromArray(IntsArg(info, i), groups);
}

int64_t ChannelsOf(at::IntArrayRef shape, bool nchw) { return nchw ? shape[1] : shape[3]; }

void CheckRank4(const at::Tensor& t, const char* what) {
  if (t.dim() != 4) throw std::invalid_argument(std::string(what) + " must be rank 4, got rank " + std::to_string(t.dim()));
}

// conv2d(x, filter, geometry, depthwise, bias | null): bias has one value per output channel.
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& filter = TensorArg(info, 1);
  bool depthwise = BoolArg(info, 3);
  CheckRank4(x, "input"), CheckRank4(filter, "filter");
  ConvGeometry g = GeometryArg(info, 2, 1);
  if (depthwise) g.groups = ChannelsOf(x.sizes(), g.nchw);
  at::Tensor w = depthwise ? DepthwiseFilterToOIHW(filter) : FilterToOIHW(filter);
  c10::optional<at::Tensor> bias;
  if (!IsMissing(info, 4)) {
    bias = TensorArg(info, 4);
    CheckPerChannel("conv2d", "bias", *bias, w.size(0));
    CheckFloat("conv2d", "bias", *bias);
    CheckSameDevice("conv2d", "bias", *bias, x);
  }
  return Pack(info.Env(), ConvForward(x, w, g, bias), kFloat32);
}

// conv2dBackpropInput(dy, filter, inputShape, geometry, depthwise)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  const at::Tensor& dy = TensorArg(info, 0);
  const at::Tensor& filter = TensorArg(info, 1);
  std::vector<int64_t> x_shape = IntsArg(info, 2);
  bool depthwise = BoolArg(info, 4);
  CheckRank4(dy, "dy"), CheckRank4(filter, "filter");
  if (x_shape.size() != 4) throw std::invalid_argument("inputShape must have 4 entries");
  ConvGeometry g = GeometryArg(info, 3, 1);
  if (depthwise) g.groups = ChannelsOf(x_shape, g.nchw);
  at::Tensor w = depthwise ? DepthwiseFilterToOIHW(filter) : FilterToOIHW(filter);
  return Pack(info.Env(), ConvBackwardInput(dy, w, x_shape, g), kFloat32);
}

// conv2dBackpropFilter(x, dy, filterShape, geometry, depthwise); filterShape in tfjs layout (HWIO or HWCM)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& dy = TensorArg(info, 1);
  std::vector<int64_t> f = IntsArg(info, 2);
  bool depthwise = BoolArg(info, 4);
  CheckRank4(x, "input"), CheckRank4(dy, "dy");
  if (f.size() != 4) throw std::invalid_argument("filterShape must have 4 entries");
  ConvGeometry g = GeometryArg(info, 3, 1);
  if (depthwise) {
    g.groups = f[2];
    at::Tensor grad = ConvBackwardFilter(x, dy, {f[2] * f[3], 1, f[0], f[1]}, g);
    return Pack(info.Env(), DepthwiseFilterFromOIHW(grad, f[2], f[3]), kFloat32);
  }
  return Pack(info.Env(), FilterFromOIHW(ConvBackwardFilter(x, dy, {f[3], f[2], f[0], f[1]}, g)), kFloat32);
}

}  // namespace

void RegisterConvolution(Napi::Env env, Napi::Object exports) {
  Export<Conv2d>(env, exports, "conv2d");
  Export<Conv2dBackpropInput>(env, exports, "conv2dBackpropInput");
  Export<Conv2dBackpropFilter>(env, exports, "conv2dBackpropFilter");
}

}  // namespace sqakd
