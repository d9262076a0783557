// Fake quantization Q(x) = D(C(x)) of SPEC section 2 in one pass each way (the composite twin is in
// engine/ops/fakeQuantize.ts and must give the same numbers, so the float operations below are in the same order).
//   C: t = (x - lower) / (upper - lower), n = clamp(t, 0, 1)
//   D: q = round(n * (L - 1)) / (L - 1)            (round half to even, as tfjs)
//   y = signed ? (q - 0.5) * 2 : q                 (weights use the signed form, in [-1, 1])
// Backward (EWGS): g_n = g_q + delta * |g_q| * (n - q); delta = 0 is the straight-through estimator. The clamp passes
// gradient where 0 <= t <= 1 (inclusive, as PyTorch's and tfjs's clamp gradients).
// lower/upper are per-tensor (one element) or per-channel along the last axis ([C]); on CPU both run as a fused
// parallel loop, anything else (other devices, other broadcast shapes) as a composition of ATen ops.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <vector>

#include "checks.h"
#include "common.h"

namespace sqakd {
namespace {

struct QuantParams {
  int64_t levels;
  double delta;
  bool is_signed;
};

QuantParams ParamsArg(const Napi::CallbackInfo& info, size_t i) {
  QuantParams p{IntArg(info, i), DoubleArg(info, i + 1), BoolArg(info, i + 2)};
  if (p.levels < 2) throw std::invalid_argument("fake quantization needs at least 2 levels, got " + std::to_string(p.levels));
  if (p.delta < 0) throw std::invalid_argument("EWGS delta must be >= 0");
  return p;
}

// Channels of a fused-loop parameter layout, or 0 when the fused loop does not apply.
int64_t FusedChannels(const at::Tensor& x, const at::Tensor& lower, const at::Tensor& upper) {
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || lower.scalar_type() != at::kFloat ||
      upper.scalar_type() != at::kFloat || x.dim() == 0) {
    return 0;
  }
  if (lower.numel() == 1 && upper.numel() == 1) return 1;
  const int64_t c = x.size(-1);
  if (lower.dim() == 1 && upper.dim() == 1 && lower.size(0) == c && upper.size(0) == c) return c;
  return 0;
}

constexpr int64_t kGrain = 32768;

// Round half to even for 0 <= v < 2^22: adding 1.5 * 2^23 leaves no bits below the units place, so the addition
// rounds (to nearest, ties to even, the default mode) and the subtraction is exact. Unlike nearbyintf, which is a
// library call here, this vectorizes; it equals it over the range used (v <= levels - 1 <= 255). NaN stays NaN.
inline float RoundHalfEven(float v) { return (v + 12582912.0f) - 12582912.0f; }

// clamp(t, 0, 1) that keeps NaN (as at::clamp and tfjs's clipByValue do).
inline float Clamp01(float t) { return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t); }

struct Channel {
  float lower, range;
};

template <bool kSigned>
inline float Quantize(float x, Channel ch, float steps) {
  const float q = RoundHalfEven(Clamp01((x - ch.lower) / ch.range) * steps) / steps;
  return kSigned ? (q - 0.5f) * 2.0f : q;
}

template <bool kSigned>
void QuantizeRange(const float* __restrict in, float* __restrict out, int64_t begin, int64_t end, Channel c, float steps) {
  for (int64_t i = begin; i < end; ++i) out[i] = Quantize<kSigned>(in[i], c, steps);
}

// Gradient of one element. t = a / b with a = x - lower, b = upper - lower: d/da = g / b, d/db = -g * a / b^2.
struct ElementGrad {
  float dx, da, db;
};

inline ElementGrad Backward(float g, float x, Channel ch, float steps, float scale, float delta) {
  const float a = x - ch.lower;
  const float t = a / ch.range;
  const float n = Clamp01(t);
  const float q = RoundHalfEven(n * steps) / steps;
  const float gq = g * scale;
  const float gn = delta == 0.0f ? gq : gq + delta * std::fabs(gq) * (n - q);
  const float gt = (t >= 0.0f && t <= 1.0f) ? gn : 0.0f;
  const float ga = gt / ch.range;
  return {ga, ga, -(gt * a) / (ch.range * ch.range)};
}

std::vector<Channel> Channels(const at::Tensor& lower, const at::Tensor& upper) {
  at::Tensor lo = lower.contiguous(), up = upper.contiguous();
  std::vector<Channel> out(lo.numel());
  for (int64_t c = 0; c < lo.numel(); ++c) out[c] = {lo.data_ptr<float>()[c], up.data_ptr<float>()[c] - lo.data_ptr<float>()[c]};
  return out;
}

at::Tensor ForwardFused(const at::Tensor& x_in, const at::Tensor& lower, const at::Tensor& upper, int64_t channels,
                        const QuantParams& p) {
  at::Tensor x = x_in.contiguous();
  at::Tensor y = at::empty_like(x);
  const float* xd = x.data_ptr<float>();
  float* yd = y.data_ptr<float>();
  const float steps = static_cast<float>(p.levels - 1);
  const std::vector<Channel> ch = Channels(lower, upper);
  if (channels == 1) {
    // Locals and restrict pointers: the compiler must know stores to y do not change the bounds to vectorize.
    const Channel c = ch[0];
    const bool is_signed = p.is_signed;
    at::parallel_for(0, x.numel(), kGrain, [xd, yd, c, steps, is_signed](int64_t begin, int64_t end) {
      if (is_signed) QuantizeRange<true>(xd, yd, begin, end, c, steps);
      else QuantizeRange<false>(xd, yd, begin, end, c, steps);
    });
  } else {
    // Per channel (weights, small): rows of `channels` values.
    const int64_t rows = x.numel() / channels;
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t c = 0; c < channels; ++c) {
          const int64_t i = r * channels + c;
          yd[i] = p.is_signed ? Quantize<true>(xd[i], ch[c], steps) : Quantize<false>(xd[i], ch[c], steps);
        }
      }
    });
  }
  return y;
}

std::vector<at::Tensor> BackwardFused(const at::Tensor& dy_in, const at::Tensor& x_in, const at::Tensor& lower,
                                      const at::Tensor& upper, int64_t channels, const QuantParams& p) {
  at::Tensor x = x_in.contiguous(), dy = dy_in.contiguous().to(at::kFloat);
  at::Tensor dx = at::empty_like(x);
  const float* xd = x.data_ptr<float>();
  const float* gd = dy.data_ptr<float>();
  float* dxd = dx.data_ptr<float>();
  const float steps = static_cast<float>(p.levels - 1);
  const float scale = p.is_signed ? 2.0f : 1.0f;
  const float delta = static_cast<float>(p.delta);
  const std::vector<Channel> ch = Channels(lower, upper);
  std::vector<double> sum_da(channels, 0.0), sum_db(channels, 0.0);
  std::mutex merge;
  if (channels == 1) {
    const Channel c = ch[0];
    at::parallel_for(0, x.numel(), kGrain, [&, c, steps, scale, delta](int64_t begin, int64_t end) {
      const float* __restrict in = xd;
      const float* __restrict grad = gd;
      float* __restrict out = dxd;
      // Float partial sums per block of 4096 (vectorized), accumulated in double across blocks.
      double da = 0.0, db = 0.0;
      for (int64_t block = begin; block < end; block += 4096) {
        const int64_t stop = std::min(end, block + 4096);
        float block_da = 0.0f, block_db = 0.0f;
#pragma omp simd reduction(+ : block_da, block_db)
        for (int64_t i = block; i < stop; ++i) {
          const ElementGrad e = Backward(grad[i], in[i], c, steps, scale, delta);
          out[i] = e.dx;
          block_da += e.da;
          block_db += e.db;
        }
        da += block_da;
        db += block_db;
      }
      std::lock_guard<std::mutex> lock(merge);
      sum_da[0] += da, sum_db[0] += db;
    });
  } else {
    const int64_t rows = x.numel() / channels;
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> da(channels, 0.0), db(channels, 0.0);
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t c = 0; c < channels; ++c) {
          const int64_t i = r * channels + c;
          const ElementGrad e = Backward(gd[i], xd[i], ch[c], steps, scale, delta);
          dxd[i] = e.dx;
          da[c] += e.da;
          db[c] += e.db;
        }
      }
      std::lock_guard<std::mutex> lock(merge);
      for (int64_t c = 0; c < channels; ++c) sum_da[c] += da[c], sum_db[c] += db[c];
    });
  }
  at::Tensor d_lower = at::empty(lower.sizes(), lower.options());
  at::Tensor d_upper = at::empty(upper.sizes(), upper.options());
  float* dl = d_lower.data_ptr<float>();
  float* du = d_upper.data_ptr<float>();
  for (int64_t c = 0; c < channels; ++c) {
    dl[c] = static_cast<float>(-(sum_da[c] + sum_db[c]));
    du[c] = static_cast<float>(sum_db[c]);
  }
  return {dx, d_lower, d_upper};
}

// The same maths from ATen ops, for CUDA tensors and parameters of other broadcast shapes.
at::Tensor Quantize(const at::Tensor& n, const QuantParams& p) {
  const double steps = static_cast<double>(p.levels - 1);
  return at::round(n * steps) / steps;
}

at::Tensor ForwardComposite(const at::Tensor& x, const at::Tensor& lower, const at::Tensor& upper, const QuantParams& p) {
  at::Tensor q = Quantize(at::clamp((x - lower) / (upper - lower), 0, 1), p);
  return p.is_signed ? (q - 0.5) * 2 : q;
}

std::vector<at::Tensor> BackwardComposite(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& lower,
                                          const at::Tensor& upper, const QuantParams& p) {
  at::Tensor a = x - lower, b = upper - lower;
  at::Tensor t = a / b;
  at::Tensor n = at::clamp(t, 0, 1);
  at::Tensor gq = p.is_signed ? dy * 2 : dy;
  at::Tensor gn = p.delta == 0 ? gq : gq + p.delta * gq.abs() * (n - Quantize(n, p));
  at::Tensor gt = at::where((t >= 0).logical_and(t <= 1), gn, at::zeros_like(gn));
  at::Tensor ga = gt / b;
  at::Tensor gb = -(gt * a) / (b * b);
  at::Tensor d_lower = (-(ga + gb)).sum_to_size(lower.sizes());
  return {ga, d_lower, gb.sum_to_size(upper.sizes())};
}

// The fused loops read lower/upper through host pointers once x is on the CPU, so they must be there too.
// (Their shapes are checked by FusedChannels; other shapes take the composite path, where ATen broadcasts them.)
void CheckQuantInputs(const char* binding, const at::Tensor& x, const at::Tensor& lower, const at::Tensor& upper) {
  CheckSameDevice(binding, "lower", lower, x);
  CheckSameDevice(binding, "upper", upper, x);
}

// fakeQuantize(x, lower, upper, levels, delta, signed, forceComposite)
Napi::Value FakeQuantize(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& lower = TensorArg(info, 1);
  const at::Tensor& upper = TensorArg(info, 2);
  CheckQuantInputs("fakeQuantize", x, lower, upper);
  QuantParams p = ParamsArg(info, 3);
  int64_t channels = BoolArg(info, 6) ? 0 : FusedChannels(x, lower, upper);
  return Pack(info.Env(), channels ? ForwardFused(x, lower, upper, channels, p) : ForwardComposite(x, lower, upper, p), kFloat32);
}

// fakeQuantizeGrad(dy, x, lower, upper, levels, delta, signed, forceComposite) -> [dx, dLower, dUpper]
Napi::Value FakeQuantizeGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& dy = TensorArg(info, 0);
  const at::Tensor& x = TensorArg(info, 1);
  const at::Tensor& lower = TensorArg(info, 2);
  const at::Tensor& upper = TensorArg(info, 3);
  CheckQuantInputs("fakeQuantizeGrad", x, lower, upper);
  // The fused loop reads dy at every index of x; the composite path would broadcast a smaller dy into a dx that
  // is not x's shape.
  CheckSameShape("fakeQuantizeGrad", "dy", dy, "x", x);
  CheckSameDevice("fakeQuantizeGrad", "dy", dy, x);
  QuantParams p = ParamsArg(info, 4);
  int64_t channels = BoolArg(info, 7) ? 0 : FusedChannels(x, lower, upper);
  return PackList(info.Env(), channels ? BackwardFused(dy, x, lower, upper, channels, p)
                                       : BackwardComposite(dy, x, lower, upper, p));
}

}  // namespace

void RegisterFakeQuantize(Napi::Env env, Napi::Object exports) {
  Export<FakeQuantize>(env, exports, "fakeQuantize");
  Export<FakeQuantizeGrad>(env, exports, "fakeQuantizeGrad");
}

}  // namespace sqakd
