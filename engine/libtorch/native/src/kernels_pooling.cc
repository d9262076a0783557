// MaxPool / AvgPool (NHWC, as tfjs) and their gradients.
// `window` is [filterH, filterW, strideH, strideW, top, bottom, left, right] from tfjs's computePool2DInfo.
// ATen pools with symmetric padding of at most half the window; other paddings are applied explicitly (with -inf
// for max, and with a count of the real pixels for average, which excludes padding from the mean as tfjs does).
#include <limits>

#include "common.h"

namespace sqakd {
namespace {

struct Window {
  int64_t kh, kw, sh, sw, top, bottom, left, right;
  // Whether ATen's own padding can express this window.
  bool native_padding() const {
    return top == bottom && left == right && 2 * top <= kh && 2 * left <= kw;
  }
};

Window WindowArg(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int64_t> v = IntsArg(info, i);
  if (v.size() != 8) throw std::invalid_argument("pool window must have 8 entries");
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

at::Tensor PadAll(const at::Tensor& x_nchw, const Window& w, double value) {
  return at::constant_pad_nd(x_nchw, {w.left, w.right, w.top, w.bottom}, value);
}

at::Tensor Unpad(const at::Tensor& g_nchw, const Window& w, int64_t h, int64_t wd) {
  return g_nchw.narrow(2, w.top, h).narrow(3, w.left, wd);
}

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  at::Tensor x = ToNCHW(TensorArg(info, 0), false);
  Window w = WindowArg(info, 1);
  at::Tensor y = w.native_padding()
                     ? at::max_pool2d(x, {w.kh, w.kw}, {w.sh, w.sw}, {w.top, w.left})
                     : at::max_pool2d(PadAll(x, w, kMinusInf), {w.kh, w.kw}, {w.sh, w.sw}, {0, 0});
  return Pack(info.Env(), FromNCHW(y, false));
}

// maxPoolGrad(dy, x, window): the gradient goes to the first maximum of each window, as in tfjs.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  at::Tensor dy = ToNCHW(TensorArg(info, 0), false);
  at::Tensor x = ToNCHW(TensorArg(info, 1), false);
  Window w = WindowArg(info, 2);
  bool native = w.native_padding();
  at::Tensor input = native ? x : PadAll(x, w, kMinusInf);
  std::vector<int64_t> pad = native ? std::vector<int64_t>{w.top, w.left} : std::vector<int64_t>{0, 0};
  auto indices = std::get<1>(at::max_pool2d_with_indices(input, {w.kh, w.kw}, {w.sh, w.sw}, pad));
  at::Tensor dx = at::max_pool2d_with_indices_backward(dy, input, {w.kh, w.kw}, {w.sh, w.sw}, pad, {1, 1}, false, indices);
  if (!native) dx = Unpad(dx, w, x.size(2), x.size(3));
  return Pack(info.Env(), FromNCHW(dx, false));
}

// Number of real (non-padding) pixels under each window: [1, 1, outH, outW].
at::Tensor WindowCounts(const at::Tensor& x_nchw, const Window& w) {
  at::Tensor ones = at::ones({1, 1, x_nchw.size(2), x_nchw.size(3)}, x_nchw.options());
  return at::avg_pool2d(PadAll(ones, w, 0), {w.kh, w.kw}, {w.sh, w.sw}, {0, 0}, false, true, 1);
}

Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  at::Tensor x = ToNCHW(TensorArg(info, 0), false);
  Window w = WindowArg(info, 1);
  at::Tensor y;
  if (w.native_padding()) {
    y = at::avg_pool2d(x, {w.kh, w.kw}, {w.sh, w.sw}, {w.top, w.left}, false, /*count_include_pad=*/false);
  } else {
    at::Tensor sums = at::avg_pool2d(PadAll(x, w, 0), {w.kh, w.kw}, {w.sh, w.sw}, {0, 0}, false, true, 1);
    y = sums / WindowCounts(x, w);
  }
  return Pack(info.Env(), FromNCHW(y, false), kFloat32);
}

// avgPoolGrad(dy, x, window)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  at::Tensor dy = ToNCHW(TensorArg(info, 0), false);
  at::Tensor x = ToNCHW(TensorArg(info, 1), false);
  Window w = WindowArg(info, 2);
  at::Tensor dx;
  if (w.native_padding()) {
    dx = at::avg_pool2d_backward(dy, x, {w.kh, w.kw}, {w.sh, w.sw}, {w.top, w.left}, false, false, c10::nullopt);
  } else {
    at::Tensor padded = PadAll(x, w, 0);
    at::Tensor dsum = dy / WindowCounts(x, w);
    dx = Unpad(at::avg_pool2d_backward(dsum, padded, {w.kh, w.kw}, {w.sh, w.sw}, {0, 0}, false, true, 1), w, x.size(2), x.size(3));
  }
  return Pack(info.Env(), FromNCHW(dx, false), kFloat32);
}

}  // namespace

void RegisterPooling(Napi::Env env, Napi::Object exports) {
  Export<MaxPool>(env, exports, "maxPool");
  Export<MaxPoolGrad>(env, exports, "maxPoolGrad");
  Export<AvgPool>(env, exports, "avgPool");
  Export<AvgPoolGrad>(env, exports, "avgPoolGrad");
}

}  // namespace sqakd
