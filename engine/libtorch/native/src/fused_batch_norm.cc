// Training-mode batch normalisation as one ATen kernel each way (the composite twin is in
// engine/ops/batchNormTraining.ts). Statistics are over every axis but the channel axis (last for NHWC and [N, C]
// inputs). Running statistics are not touched here: the caller updates them from the returned batch mean and
// inverse standard deviation, which keeps tensors immutable as tfjs requires.
#include <algorithm>
#include <utility>

#include "checks.h"
#include "common.h"

namespace sqakd {
namespace {

// ATen wants channels in dim 1: NHWC becomes a channels-last NCHW view, [N, C] stays as is.
at::Tensor ChannelsSecond(const at::Tensor& x) { return x.dim() == 4 ? ToNCHW(x, false) : x; }
at::Tensor ChannelsLast(const at::Tensor& y) { return y.dim() == 4 ? FromNCHW(y, false) : y; }

// ATen's native batch-norm kernels take the per-channel tensors' and dy's sizes on trust (a short one is read past
// its end), so every shape is checked here. Returns the channel count.
int64_t CheckInput(const char* binding, const at::Tensor& x) {
  if (x.dim() != 4 && x.dim() != 2) {
    throw std::invalid_argument(std::string(binding) + ": x " + TensorString(x) +
                                " must be NHWC (rank 4) or [batch, channels] (rank 2)");
  }
  CheckFloat(binding, "x", x);
  return x.size(-1);
}

void CheckChannelTensor(const char* binding, const char* name, const at::Tensor& t, const at::Tensor& x) {
  CheckPerChannel(binding, name, t, x.size(-1));
  CheckFloat(binding, name, t);
  CheckSameDevice(binding, name, t, x);
}

// batchNormTraining(x, scale, offset, epsilon) -> [y, batchMean, batchInvStd]
Napi::Value BatchNormTraining(const Napi::CallbackInfo& info) {
  const char* binding = "batchNormTraining";
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& scale = TensorArg(info, 1);
  const at::Tensor& offset = TensorArg(info, 2);
  CheckInput(binding, x);
  CheckChannelTensor(binding, "scale", scale, x);
  CheckChannelTensor(binding, "offset", offset, x);
  auto out = at::native_batch_norm(ChannelsSecond(x), scale, offset, /*running_mean=*/{}, /*running_var=*/{},
                                   /*training=*/true, /*momentum=*/0.0, DoubleArg(info, 3));
  return PackList(info.Env(), {ChannelsLast(std::get<0>(out)), std::get<1>(out), std::get<2>(out)});
}

// The part of dx due to gradients on the batch statistics themselves (zero when they only feed running averages):
// mean = sum(x) / n gives dMean / n; invStd = (var + eps)^-1/2 with var = sum((x - mean)^2) / n gives
// -dInvStd * invStd^3 * (x - mean) / n. Returned as per-channel a, b with the term equal to a * x + b.
std::pair<at::Tensor, at::Tensor> StatisticsTerm(const at::Tensor& d_mean, const at::Tensor& d_inv_std,
                                                 const at::Tensor& mean, const at::Tensor& inv_std, int64_t count) {
  const double n = static_cast<double>(count);
  at::Tensor a = -d_inv_std * inv_std * inv_std * inv_std / n;
  at::Tensor b = d_mean / n - a * mean;
  return {a, b};
}

// batchNormTrainingGrad(dy, x, scale, batchMean, batchInvStd, epsilon, dMean | null, dInvStd | null)
//   -> [dx, dScale, dOffset]
Napi::Value BatchNormTrainingGrad(const Napi::CallbackInfo& info) {
  const char* binding = "batchNormTrainingGrad";
  const at::Tensor& dy = TensorArg(info, 0);
  const at::Tensor& x = TensorArg(info, 1);
  const at::Tensor& scale = TensorArg(info, 2);
  const at::Tensor& mean = TensorArg(info, 3);
  const at::Tensor& inv_std = TensorArg(info, 4);
  const int64_t channels = CheckInput(binding, x);
  CheckSameShape(binding, "dy", dy, "x", x);
  CheckFloat(binding, "dy", dy);
  CheckSameDevice(binding, "dy", dy, x);
  CheckChannelTensor(binding, "scale", scale, x);
  CheckChannelTensor(binding, "mean", mean, x);
  CheckChannelTensor(binding, "invStd", inv_std, x);
  auto out = at::native_batch_norm_backward(ChannelsSecond(dy), ChannelsSecond(x), scale, /*running_mean=*/{},
                                            /*running_var=*/{}, mean, inv_std, /*train=*/true, DoubleArg(info, 5),
                                            {true, true, true});
  at::Tensor dx = ChannelsLast(std::get<0>(out));
  if (!IsMissing(info, 6) || !IsMissing(info, 7)) {
    at::Tensor d_mean = IsMissing(info, 6) ? at::zeros_like(mean) : TensorArg(info, 6);
    at::Tensor d_inv_std = IsMissing(info, 7) ? at::zeros_like(inv_std) : TensorArg(info, 7);
    CheckChannelTensor(binding, "dMean", d_mean, x);
    CheckChannelTensor(binding, "dInvStd", d_inv_std, x);
    // tfjs hands zeros for outputs that reach no loss (the usual case: the statistics only feed running averages).
    // On the CPU, seeing that costs two [C] scans and saves two passes over x; on CUDA the check would stall the
    // stream, so the term is always added there.
    const bool zero = x.device().is_cpu() && at::count_nonzero(d_mean).item<int64_t>() == 0 &&
                      at::count_nonzero(d_inv_std).item<int64_t>() == 0;
    if (!zero) {
      auto [a, b] = StatisticsTerm(d_mean, d_inv_std, mean, inv_std, x.numel() / std::max<int64_t>(channels, 1));
      dx = dx.addcmul(x, a).add_(b);
    }
  }
  return PackList(info.Env(), {dx, std::get<1>(out), std::get<2>(out)});
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  Export<BatchNormTraining>(env, exports, "batchNormTraining");
  Export<BatchNormTrainingGrad>(env, exports, "batchNormTrainingGrad");
}

}  // namespace sqakd
