// Matrix products and inference-mode batch normalisation (tfjs's FusedBatchNorm).
#include "common.h"

namespace sqakd {
namespace {

// batchMatMul(a, b, transposeA, transposeB, dtype): batch dimensions broadcast, as in tfjs. The result has the
// inputs' (upcast) dtype, as in tfjs: integer products are computed in double, exact where tfjs's JS sums are,
// then stored as int32 (ATen has no integer matmul on CUDA).
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  at::Tensor a = TensorArg(info, 0), b = TensorArg(info, 1);
  if (BoolArg(info, 2)) a = a.transpose(-2, -1);
  if (BoolArg(info, 3)) b = b.transpose(-2, -1);
  int32_t dtype = static_cast<int32_t>(IntArg(info, 4));
  at::ScalarType compute = dtype == kFloat32 ? at::kFloat : at::kDouble;
  return Pack(info.Env(), at::matmul(a.to(compute), b.to(compute)), dtype);
}

// einsum(equation, [operands])
Napi::Value Einsum(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), at::einsum(StringArg(info, 0), TensorListArg(info, 1)));
}

// batchNormInference(x, mean, variance, offset | null, scale | null, epsilon): (x - mean) / sqrt(var + eps) * scale
// + offset, with mean/variance/offset/scale broadcast against x.
Napi::Value BatchNormInference(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& mean = TensorArg(info, 1);
  const at::Tensor& variance = TensorArg(info, 2);
  double eps = DoubleArg(info, 5);
  // The common case, per-channel statistics of NHWC or [N, C] float input: one ATen kernel (one pass).
  const int64_t c = x.dim() ? x.size(-1) : 0;
  auto per_channel = [&](const at::Tensor& t) { return t.dim() == 1 && t.size(0) == c && t.scalar_type() == at::kFloat; };
  if ((x.dim() == 4 || x.dim() == 2) && x.scalar_type() == at::kFloat && per_channel(mean) && per_channel(variance) &&
      (IsMissing(info, 3) || per_channel(TensorArg(info, 3))) && (IsMissing(info, 4) || per_channel(TensorArg(info, 4)))) {
    at::Tensor scale = IsMissing(info, 4) ? at::Tensor() : TensorArg(info, 4);
    at::Tensor offset = IsMissing(info, 3) ? at::Tensor() : TensorArg(info, 3);
    at::Tensor input = x.dim() == 4 ? ToNCHW(x, false) : x;
    at::Tensor y = at::batch_norm(input, scale, offset, mean, variance, /*training=*/false, 0.0, eps, /*cudnn_enabled=*/true);
    return Pack(info.Env(), x.dim() == 4 ? FromNCHW(y, false) : y, kFloat32);
  }
  at::Tensor inv = at::rsqrt(variance + eps);
  if (!IsMissing(info, 4)) inv = inv * TensorArg(info, 4);
  at::Tensor y = (x - mean) * inv;
  if (!IsMissing(info, 3)) y = y + TensorArg(info, 3);
  return Pack(info.Env(), y, kFloat32);
}

}  // namespace

void RegisterLinalg(Napi::Env env, Napi::Object exports) {
  Export<BatchMatMul>(env, exports, "batchMatMul");
  Export<Einsum>(env, exports, "einsum");
  Export<BatchNormInference>(env, exports, "batchNormInference");
}

}  // namespace sqakd
