// 2-D convolution in tfjs's conventions (NHWC or NCHW activations, HWIO filters, possibly asymmetric padding)
// expressed as ATen calls. Shared by the kernels and by the direct-ATen benchmark, so both run the same calls.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace sqakd {

struct ConvGeometry {
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  int64_t groups = 1;  // the input channel count for depthwise convolutions
  bool nchw = false;   // activations in NCHW instead of tfjs's default NHWC
};

// From JS's [strideH, strideW, dilationH, dilationW, top, bottom, left, right, nchw(0|1)].
ConvGeometry GeometryFromArray(const std::vector<int64_t>& v, int64_t groups = 1);

// Filters: tfjs HWIO (regular) or HWCM (depthwise, M = channel multiplier) <-> ATen OIHW views.
at::Tensor FilterToOIHW(const at::Tensor& hwio);
at::Tensor FilterFromOIHW(const at::Tensor& oihw);
at::Tensor DepthwiseFilterToOIHW(const at::Tensor& hwcm);
at::Tensor DepthwiseFilterFromOIHW(const at::Tensor& oihw, int64_t channels, int64_t multiplier);

// x and the result in the geometry's layout; w in OIHW.
// bias: one value per output channel, added inside the convolution (no pass of its own), or none.
at::Tensor ConvForward(const at::Tensor& x, const at::Tensor& w, const ConvGeometry& g,
                       const c10::optional<at::Tensor>& bias = c10::nullopt);
// Gradient w.r.t. the input of the given shape (in the geometry's layout).
at::Tensor ConvBackwardInput(const at::Tensor& dy, const at::Tensor& w, at::IntArrayRef x_shape, const ConvGeometry& g);
// Gradient w.r.t. an OIHW filter of the given shape.
at::Tensor ConvBackwardFilter(const at::Tensor& x, const at::Tensor& dy, at::IntArrayRef w_shape, const ConvGeometry& g);

}  // namespace sqakd
