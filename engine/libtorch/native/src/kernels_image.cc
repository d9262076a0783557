// Separable resampling along one axis, the building block of ResizeBilinear / ResizeNearestNeighbor and their
// gradients. JS computes the source indices and weights with tfjs's coordinate rules (align corners, half-pixel
// centres); here output position i along `axis` is x[i0[i]] + (x[i1[i]] - x[i0[i]]) * frac[i].
#include "common.h"

namespace sqakd {
namespace {

at::Tensor IndexTensor(const std::vector<int64_t>& v, const at::Device& device) {
  return at::tensor(v, at::TensorOptions().dtype(at::kLong)).to(device);
}

at::Tensor AlongAxis(const std::vector<double>& v, int64_t axis, int64_t rank, const at::TensorOptions& opts) {
  std::vector<int64_t> shape(rank, 1);
  shape[axis] = static_cast<int64_t>(v.size());
  return at::tensor(v, at::TensorOptions().dtype(at::kDouble)).to(opts.device()).to(at::kFloat).reshape(shape);
}

// interpAxis(x, axis, i0, i1, frac | null); without frac it is a plain gather of i0 (nearest neighbour), which
// keeps x's dtype as tfjs's ResizeNearestNeighbor does; interpolation gives float32.
Napi::Value InterpAxis(const Napi::CallbackInfo& info) {
  at::Tensor x = TensorArg(info, 0);
  int64_t axis = IntArg(info, 1);
  if (IsMissing(info, 4)) return Pack(info.Env(), x.index_select(axis, IndexTensor(IntsArg(info, 2), x.device())));
  if (!x.is_floating_point()) x = x.to(at::kFloat);
  at::Tensor lo = x.index_select(axis, IndexTensor(IntsArg(info, 2), x.device()));
  at::Tensor hi = x.index_select(axis, IndexTensor(IntsArg(info, 3), x.device()));
  at::Tensor frac = AlongAxis(DoublesArg(info, 4), axis, x.dim(), x.options());
  return Pack(info.Env(), lo + (hi - lo) * frac, kFloat32);
}

// interpAxisGrad(dy, axis, inputSize, i0, i1, frac | null): the transpose of interpAxis.
Napi::Value InterpAxisGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& dy = TensorArg(info, 0);
  int64_t axis = IntArg(info, 1), size = IntArg(info, 2);
  std::vector<int64_t> shape = dy.sizes().vec();
  shape[axis] = size;
  at::Tensor dx = at::zeros(shape, dy.options());
  at::Tensor i0 = IndexTensor(IntsArg(info, 3), dy.device());
  if (IsMissing(info, 5)) return Pack(info.Env(), dx.index_add_(axis, i0, dy), kFloat32);
  at::Tensor frac = AlongAxis(DoublesArg(info, 5), axis, dy.dim(), dy.options());
  dx.index_add_(axis, i0, dy * (1 - frac));
  dx.index_add_(axis, IndexTensor(IntsArg(info, 4), dy.device()), dy * frac);
  return Pack(info.Env(), dx, kFloat32);
}

}  // namespace

void RegisterImage(Napi::Env env, Napi::Object exports) {
  Export<InterpAxis>(env, exports, "interpAxis");
  Export<InterpAxisGrad>(env, exports, "interpAxisGrad");
}

}  // namespace sqakd
