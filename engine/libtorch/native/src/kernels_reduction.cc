// Reductions over a list of axes (JS has already normalised them), arg-reductions, cumulative sums/products,
// softmax and top-k.
#include <cmath>

#include "common.h"

namespace sqakd {
namespace {

// reduce(op, x, axes, keepDims, dtype), op in sum | mean | max | min | prod | all | any.
// An empty axis list reduces nothing, as in tfjs (ATen would reduce everything).
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  std::string op = StringArg(info, 0);
  const at::Tensor& x = TensorArg(info, 1);
  std::vector<int64_t> axes = IntsArg(info, 2);
  bool keep = BoolArg(info, 3);
  int32_t dtype = static_cast<int32_t>(IntArg(info, 4));
  if (axes.empty()) return Pack(info.Env(), x, dtype);
  at::Tensor y;
  if (op == "sum") {
    y = at::sum(x, axes, keep, ScalarTypeOf(dtype));
  } else if (op == "mean") {
    y = at::mean(x.is_floating_point() ? x : x.to(at::kFloat), axes, keep);
  } else if (op == "max") {
    y = at::amax(x, axes, keep);
  } else if (op == "min") {
    y = at::amin(x, axes, keep);
  } else if (op == "prod") {
    // at::prod takes one dim at a time; reduce the highest first so the remaining indices stay valid.
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.rbegin(), sorted.rend());
    y = x.to(ScalarTypeOf(dtype));
    for (int64_t a : sorted) y = at::prod(y, a, keep);
  } else if (op == "all" || op == "any") {
    y = x.to(at::kBool);
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.rbegin(), sorted.rend());
    for (int64_t a : sorted) y = op == "all" ? at::all(y, a, keep) : at::any(y, a, keep);
  } else {
    throw std::invalid_argument("unknown reduction '" + op + "' (valid: sum, mean, max, min, prod, all, any)");
  }
  return Pack(info.Env(), y, dtype);
}

// tfjs scans for a strictly greater (smaller) value, so NaN never wins, except as the first element, which then
// stays the answer since nothing compares greater than NaN. ATen takes NaN as the extreme: NaN is replaced by
// the value that loses every comparison, and a leading NaN is answered separately.
at::Tensor ArgReduceNaNAsTfjs(const at::Tensor& x, int64_t axis, bool is_max) {
  at::Tensor nan = at::isnan(x);
  at::Tensor losing = at::full({}, is_max ? -INFINITY : INFINITY, x.options());
  at::Tensor cleaned = at::where(nan, losing, x);
  at::Tensor index = is_max ? at::argmax(cleaned, axis) : at::argmin(cleaned, axis);
  return at::where(nan.select(axis, 0), at::zeros_like(index), index);
}

// argReduce(isMax, x, axis) -> int32 indices of the first extreme value
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  bool is_max = BoolArg(info, 0);
  const at::Tensor& x = TensorArg(info, 1);
  int64_t axis = IntArg(info, 2);
  if (x.is_floating_point() && x.size(axis) > 0) return Pack(info.Env(), ArgReduceNaNAsTfjs(x, axis, is_max), kInt32);
  at::Tensor input = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
  return Pack(info.Env(), is_max ? at::argmax(input, axis) : at::argmin(input, axis), kInt32);
}

// cumulative(isProduct, x, axis, exclusive, reverse)
Napi::Value Cumulative(const Napi::CallbackInfo& info) {
  bool product = BoolArg(info, 0);
  at::Tensor x = TensorArg(info, 1);
  int64_t axis = IntArg(info, 2);
  bool exclusive = BoolArg(info, 3);
  bool reverse = BoolArg(info, 4);
  int32_t dtype = x.scalar_type() == at::kBool ? kInt32 : CodeOf(x.scalar_type());
  x = x.to(ScalarTypeOf(dtype));
  if (reverse) x = x.flip(axis);
  at::Tensor y = product ? at::cumprod(x, axis) : at::cumsum(x, axis);
  if (exclusive && x.size(axis) > 0) {
    // Shift by one along the axis, filling with the identity of the operation.
    auto first = product ? at::ones_like(y.narrow(axis, 0, 1)) : at::zeros_like(y.narrow(axis, 0, 1));
    y = at::cat({first, y.narrow(axis, 0, y.size(axis) - 1)}, axis);
  }
  if (reverse) y = y.flip(axis);
  return Pack(info.Env(), y, dtype);
}

// softmax(x, dim)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), at::softmax(TensorArg(info, 0), IntArg(info, 1)), kFloat32);
}

// topK(x, k) -> [values, int32 indices] along the last axis, largest first
Napi::Value TopK(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  int64_t k = IntArg(info, 1);
  // tfjs breaks ties by the lower index; a stable descending sort gives exactly that order (and is sorted, which
  // also satisfies `sorted: false`).
  auto sorted = at::sort(x, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
  return PackList(info.Env(), {std::get<0>(sorted).narrow(-1, 0, k), std::get<1>(sorted).narrow(-1, 0, k)});
}

}  // namespace

void RegisterReduction(Napi::Env env, Napi::Object exports) {
  Export<Reduce>(env, exports, "reduce");
  Export<ArgReduce>(env, exports, "argReduce");
  Export<Cumulative>(env, exports, "cumulative");
  Export<Softmax>(env, exports, "softmax");
  Export<TopK>(env, exports, "topK");
}

}  // namespace sqakd
