// Optimizer updates as one kernel per parameter (the composite twins are in engine/ops/optimizerUpdates.ts and
// do the same float32 arithmetic in the same order). Float32 CPU tensors run as one fused parallel loop; other
// devices as ATen ops.
#include <ATen/Parallel.h>

#include <cmath>
#include <utility>

#include "checks.h"
#include "common.h"

namespace sqakd {
namespace {

constexpr int64_t kGrain = 16384;

// Every state tensor and the gradient must have the parameter's shape: the fused loop reads them all at the
// parameter's indices, and the ATen path would broadcast a mismatch into a parameter of another shape.
void CheckShapes(const char* binding, const at::Tensor& param, std::initializer_list<std::pair<const char*, const at::Tensor*>> others) {
  for (const auto& [name, t] : others) {
    CheckSameShape(binding, name, *t, "param", param);
    CheckSameDevice(binding, name, *t, param);
  }
}

bool FusedLoopApplies(std::initializer_list<const at::Tensor*> tensors) {
  const at::Tensor& first = **tensors.begin();
  for (const at::Tensor* t : tensors) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->sizes() != first.sizes()) return false;
  }
  return true;
}

struct AdamConstants {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, step_size, correction2;
};

// adamUpdate(param, grad, m, v, beta1, beta2, eps, weightDecay, stepSize, correction2) -> [param, m, v]
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const at::Tensor& p_in = TensorArg(info, 0);
  const at::Tensor& g_in = TensorArg(info, 1);
  const at::Tensor& m_in = TensorArg(info, 2);
  const at::Tensor& v_in = TensorArg(info, 3);
  CheckShapes("adamUpdate", p_in, {{"grad", &g_in}, {"m", &m_in}, {"v", &v_in}});
  const double beta1 = DoubleArg(info, 4), beta2 = DoubleArg(info, 5);
  // Constants rounded to float32 as tfjs rounds a JS number used in a float32 op (1 - beta1 is taken in double).
  const AdamConstants k{static_cast<float>(beta1), static_cast<float>(1.0 - beta1), static_cast<float>(beta2),
                        static_cast<float>(1.0 - beta2), static_cast<float>(DoubleArg(info, 6)),
                        static_cast<float>(DoubleArg(info, 7)), static_cast<float>(DoubleArg(info, 8)),
                        static_cast<float>(DoubleArg(info, 9))};
  if (!FusedLoopApplies({&p_in, &g_in, &m_in, &v_in})) {
    at::Tensor g = k.weight_decay != 0.0f ? g_in + p_in * k.weight_decay : g_in;
    at::Tensor m = m_in * k.beta1 + g * k.one_minus_beta1;
    at::Tensor v = v_in * k.beta2 + (g * g) * k.one_minus_beta2;
    at::Tensor p = p_in - (m / (at::sqrt(v) / k.correction2 + k.eps)) * k.step_size;
    return PackList(info.Env(), {p, m, v});
  }
  const at::Tensor pc = p_in.contiguous(), gc = g_in.contiguous(), mc = m_in.contiguous(), vc = v_in.contiguous();
  at::Tensor p = at::empty_like(pc), m = at::empty_like(mc), v = at::empty_like(vc);
  const float *pd = pc.data_ptr<float>(), *gd = gc.data_ptr<float>(), *md = mc.data_ptr<float>(), *vd = vc.data_ptr<float>();
  float *po = p.data_ptr<float>(), *mo = m.data_ptr<float>(), *vo = v.data_ptr<float>();
  at::parallel_for(0, pc.numel(), kGrain, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = k.weight_decay != 0.0f ? gd[i] + pd[i] * k.weight_decay : gd[i];
      const float m1 = md[i] * k.beta1 + g * k.one_minus_beta1;
      const float v1 = vd[i] * k.beta2 + (g * g) * k.one_minus_beta2;
      mo[i] = m1;
      vo[i] = v1;
      po[i] = pd[i] - (m1 / (std::sqrt(v1) / k.correction2 + k.eps)) * k.step_size;
    }
  });
  return PackList(info.Env(), {p, m, v});
}

// sgdUpdate(param, grad, buffer, lr, momentum, weightDecay, nesterov, firstStep) -> [param, buffer]
Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  const at::Tensor& p_in = TensorArg(info, 0);
  const at::Tensor& g_in = TensorArg(info, 1);
  const at::Tensor& b_in = TensorArg(info, 2);
  CheckShapes("sgdUpdate", p_in, {{"grad", &g_in}, {"buffer", &b_in}});
  const float lr = static_cast<float>(DoubleArg(info, 3)), momentum = static_cast<float>(DoubleArg(info, 4));
  const float weight_decay = static_cast<float>(DoubleArg(info, 5));
  const bool nesterov = BoolArg(info, 6), first = BoolArg(info, 7);
  if (!FusedLoopApplies({&p_in, &g_in, &b_in})) {
    at::Tensor d = weight_decay != 0.0f ? g_in + p_in * weight_decay : g_in;
    at::Tensor next = momentum == 0.0f || first ? d : b_in * momentum + d;
    at::Tensor update = momentum != 0.0f && nesterov ? d + next * momentum : next;
    return PackList(info.Env(), {p_in - update * lr, momentum == 0.0f ? b_in : next});
  }
  const at::Tensor pc = p_in.contiguous(), gc = g_in.contiguous(), bc = b_in.contiguous();
  at::Tensor p = at::empty_like(pc), b = at::empty_like(bc);
  const float *pd = pc.data_ptr<float>(), *gd = gc.data_ptr<float>(), *bd = bc.data_ptr<float>();
  float *po = p.data_ptr<float>(), *bo = b.data_ptr<float>();
  at::parallel_for(0, pc.numel(), kGrain, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float d = weight_decay != 0.0f ? gd[i] + pd[i] * weight_decay : gd[i];
      const float next = momentum == 0.0f || first ? d : bd[i] * momentum + d;
      const float update = momentum != 0.0f && nesterov ? d + next * momentum : next;
      bo[i] = momentum == 0.0f ? bd[i] : next;
      po[i] = pd[i] - update * lr;
    }
  });
  return PackList(info.Env(), {p, b});
}

}  // namespace

void RegisterOptimizers(Napi::Env env, Napi::Object exports) {
  Export<AdamUpdate>(env, exports, "adamUpdate");
  Export<SgdUpdate>(env, exports, "sgdUpdate");
}

}  // namespace sqakd
