#include "convolution.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common.h"

namespace sqakd {
namespace {

// ATen pads symmetrically. tfjs's 'same' padding can put one more row/column at the bottom/right; that extra part
// is padded explicitly (a copy, only in that case) and the symmetric part is left to the convolution.
struct SplitPadding {
  int64_t sym_h, sym_w;
  int64_t extra_top, extra_bottom, extra_left, extra_right;
  bool has_extra() const { return extra_top || extra_bottom || extra_left || extra_right; }
};

SplitPadding Split(const ConvGeometry& g) {
  SplitPadding p{};
  p.sym_h = std::min(g.top, g.bottom);
  p.sym_w = std::min(g.left, g.right);
  p.extra_top = g.top - p.sym_h;
  p.extra_bottom = g.bottom - p.sym_h;
  p.extra_left = g.left - p.sym_w;
  p.extra_right = g.right - p.sym_w;
  return p;
}

at::Tensor PadExtra(const at::Tensor& x_nchw, const SplitPadding& p) {
  if (!p.has_extra()) return x_nchw;
  return at::constant_pad_nd(x_nchw, {p.extra_left, p.extra_right, p.extra_top, p.extra_bottom}, 0);
}

at::MemoryFormat FormatOf(const ConvGeometry& g) {
  return g.nchw ? at::MemoryFormat::Contiguous : at::MemoryFormat::ChannelsLast;
}

}  // namespace

ConvGeometry GeometryFromArray(const std::vector<int64_t>& v, int64_t groups) {
  if (v.size() != 9) throw std::invalid_argument("conv geometry must have 9 entries, got " + std::to_string(v.size()));
  ConvGeometry g;
  g.stride_h = v[0], g.stride_w = v[1], g.dilation_h = v[2], g.dilation_w = v[3];
  g.top = v[4], g.bottom = v[5], g.left = v[6], g.right = v[7];
  g.nchw = v[8] != 0;
  g.groups = groups;
  return g;
}

at::Tensor FilterToOIHW(const at::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}); }
at::Tensor FilterFromOIHW(const at::Tensor& oihw) { return oihw.permute({2, 3, 1, 0}); }

at::Tensor DepthwiseFilterToOIHW(const at::Tensor& hwcm) {
  // [H, W, C, M] -> [C, M, H, W] -> [C*M, 1, H, W]: output channel c*M + m reads input channel c, as in tfjs.
  const int64_t h = hwcm.size(0), w = hwcm.size(1), c = hwcm.size(2), m = hwcm.size(3);
  return hwcm.permute({2, 3, 0, 1}).reshape({c * m, 1, h, w});
}

at::Tensor DepthwiseFilterFromOIHW(const at::Tensor& oihw, int64_t channels, int64_t multiplier) {
  return oihw.reshape({channels, multiplier, oihw.size(2), oihw.size(3)}).permute({2, 3, 0, 1});
}

at::Tensor ConvForward(const at::Tensor& x, const at::Tensor& w, const ConvGeometry& g,
                       const c10::optional<at::Tensor>& bias) {
  const SplitPadding p = Split(g);
  at::Tensor input = PadExtra(ToNCHW(x, g.nchw), p);
  at::Tensor y = at::convolution(input, w, bias, {g.stride_h, g.stride_w}, {p.sym_h, p.sym_w},
                                 {g.dilation_h, g.dilation_w}, /*transposed=*/false, /*output_padding=*/{0, 0}, g.groups);
  return FromNCHW(y, g.nchw);
}

at::Tensor ConvBackwardInput(const at::Tensor& dy, const at::Tensor& w, at::IntArrayRef x_shape, const ConvGeometry& g) {
  const SplitPadding p = Split(g);
  const int64_t n = x_shape[0];
  const int64_t c = g.nchw ? x_shape[1] : x_shape[3];
  const int64_t h = g.nchw ? x_shape[2] : x_shape[1];
  const int64_t wd = g.nchw ? x_shape[3] : x_shape[2];
  // convolution_backward reads only the input's sizes (and memory format) when asked for the input gradient alone;
  // an uninitialised tensor stands in for it.
  at::Tensor input = at::empty({n, c, h + p.extra_top + p.extra_bottom, wd + p.extra_left + p.extra_right},
                               dy.options().memory_format(FormatOf(g)));
  auto grads = at::convolution_backward(ToNCHW(dy, g.nchw), input, w, /*bias_sizes=*/c10::nullopt,
                                        {g.stride_h, g.stride_w}, {p.sym_h, p.sym_w}, {g.dilation_h, g.dilation_w},
                                        false, {0, 0}, g.groups, {true, false, false});
  at::Tensor dx = std::get<0>(grads);
  if (p.has_extra()) dx = dx.narrow(2, p.extra_top, h).narrow(3, p.extra_left, wd);
  return FromNCHW(dx, g.nchw);
}

at::Tensor ConvBackwardFilter(const at::Tensor& x, const at::Tensor& dy, at::IntArrayRef w_shape, const ConvGeometry& g) {
  const SplitPadding p = Split(g);
  at::Tensor input = PadExtra(ToNCHW(x, g.nchw), p);
  // Only the filter's sizes matter here, as above.
  at::Tensor weight = at::empty(w_shape, dy.options());
  auto grads = at::convolution_backward(ToNCHW(dy, g.nchw), input, weight, c10::nullopt, {g.stride_h, g.stride_w},
                                        {p.sym_h, p.sym_w}, {g.dilation_h, g.dilation_w}, false, {0, 0}, g.groups,
                                        {false, true, false});
  return std::get<1>(grads);
}

}  // namespace sqakd
