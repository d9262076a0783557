// Training-mode batch normalisation as one ATen kernel each way (the composite twin is in
// engine/ops/batchNormTraining.ts). Statistics are over every axis but the channel axis (last for NHWC and [N, C]
// inputs). Running statistics are not touched here: the caller updates them from the returned batch mean and
// inverse standard deviation, which keeps tensors immutable as tfjs requires.
#include "common.h"

namespace sqakd {
namespace {

// ATen wants channels in dim 1: NHWC becomes a channels-last NCHW view, [N, C] stays as is.
at::Tensor ChannelsSecond(const at::Tensor& x) { return x.dim() == 4 ? ToNCHW(x, false) : x; }
at::Tensor ChannelsLast(const at::Tensor& y) { return y.dim() == 4 ? FromNCHW(y, false) : y; }

void CheckInput(const at::Tensor& x) {
  if (x.dim() != 4 && x.dim() != 2) {
    throw std::invalid_argument("batch norm input must be NHWC (rank 4) or [batch, channels] (rank 2), got rank " + std::to_string(x.dim()));
  }
}

// batchNormTraining(x, scale, offset, epsilon) -> [y, batchMean, batchInvStd]
Napi::Value BatchNormTraining(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  CheckInput(x);
  auto out = at::native_batch_norm(ChannelsSecond(x), TensorArg(info, 1), TensorArg(info, 2), /*running_mean=*/{},
                                   /*running_var=*/{}, /*training=*/true, /*momentum=*/0.0, DoubleArg(info, 3));
  return PackList(info.Env(), {ChannelsLast(std::get<0>(out)), std::get<1>(out), std::get<2>(out)});
}

// batchNormTrainingGrad(dy, x, scale, batchMean, batchInvStd, epsilon) -> [dx, dScale, dOffset]
Napi::Value BatchNormTrainingGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 1);
  CheckInput(x);
  auto out = at::native_batch_norm_backward(ChannelsSecond(TensorArg(info, 0)), ChannelsSecond(x), TensorArg(info, 2),
                                            /*running_mean=*/{}, /*running_var=*/{}, TensorArg(info, 3),
                                            TensorArg(info, 4), /*train=*/true, DoubleArg(info, 5), {true, true, true});
  return PackList(info.Env(), {ChannelsLast(std::get<0>(out)), std::get<1>(out), std::get<2>(out)});
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  Export<BatchNormTraining>(env, exports, "batchNormTraining");
  Export<BatchNormTrainingGrad>(env, exports, "batchNormTrainingGrad");
}

}  // namespace sqakd
