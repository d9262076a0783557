// Kernels that move data without arithmetic: reshape, transpose, slicing, joining, gathering, padding.
// Most return views; tfjs tensors are immutable, so sharing storage between handles is safe.
#include "checks.h"
#include "common.h"

namespace sqakd {
namespace {

int64_t Product(at::IntArrayRef dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

std::vector<int64_t> Concat(at::IntArrayRef a, at::IntArrayRef b, at::IntArrayRef c = {}) {
  std::vector<int64_t> out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  out.insert(out.end(), c.begin(), c.end());
  return out;
}

Napi::Value Reshape(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), TensorArg(info, 0).reshape(IntsArg(info, 1)));
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), TensorArg(info, 0).permute(IntsArg(info, 1)));
}

// The list arguments of slice and stridedSlice have one entry per leading dimension of x; the loops index them
// in step.
void CheckSliceLists(const char* binding, const at::Tensor& x, std::initializer_list<const std::vector<int64_t>*> lists) {
  const size_t n = (*lists.begin())->size();
  for (const auto* list : lists) {
    if (list->size() != n || n > static_cast<size_t>(x.dim())) {
      throw std::invalid_argument(std::string(binding) + ": begin/size lists of lengths " + std::to_string(n) + " and " +
                                  std::to_string(list->size()) + " do not fit x " + TensorString(x));
    }
  }
}

// slice(x, begin, size)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  at::Tensor y = TensorArg(info, 0);
  std::vector<int64_t> begin = IntsArg(info, 1), size = IntsArg(info, 2);
  CheckSliceLists("slice", y, {&begin, &size});
  for (size_t d = 0; d < begin.size(); ++d) y = y.narrow(static_cast<int64_t>(d), begin[d], size[d]);
  return Pack(info.Env(), y);
}

// stridedSlice(x, begin, strides, sizes, finalShape): element i of dim d is x[begin[d] + i * strides[d]],
// for i < sizes[d], one entry per dimension of x (tfjs's slice_util.sliceInfo has resolved masks, ellipses and
// negative indices); the result is then reshaped to finalShape (shrunk axes removed, new axes added).
Napi::Value StridedSlice(const Napi::CallbackInfo& info) {
  at::Tensor y = TensorArg(info, 0);
  std::vector<int64_t> begin = IntsArg(info, 1), strides = IntsArg(info, 2), sizes = IntsArg(info, 3);
  std::vector<int64_t> final_shape = IntsArg(info, 4);
  CheckSliceLists("stridedSlice", y, {&begin, &strides, &sizes});
  for (size_t k = 0; k < sizes.size(); ++k) {
    int64_t d = static_cast<int64_t>(k), n = sizes[k], s = strides[k], b = begin[k];
    if (n == 0) {
      y = y.narrow(d, 0, 0);
    } else if (s > 0) {
      y = y.slice(d, b, b + (n - 1) * s + 1, s);
    } else {
      int64_t last = b + (n - 1) * s;  // the lowest index taken
      y = y.slice(d, last, b + 1, -s).flip(d);
    }
  }
  return Pack(info.Env(), y.reshape(final_shape));
}

Napi::Value ConcatKernel(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), at::cat(TensorListArg(info, 0), IntArg(info, 1)));
}

Napi::Value Stack(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), at::stack(TensorListArg(info, 0), IntArg(info, 1)));
}

Napi::Value Unstack(const Napi::CallbackInfo& info) {
  return PackList(info.Env(), at::unbind(TensorArg(info, 0), IntArg(info, 1)));
}

// split(x, sizes, axis)
Napi::Value Split(const Napi::CallbackInfo& info) {
  return PackList(info.Env(), at::split_with_sizes(TensorArg(info, 0), IntsArg(info, 1), IntArg(info, 2)));
}

// gather(x, indices, axis, batchDims); axis and batchDims already non-negative (tfjs normalises them). The shape
// arithmetic below indexes x's sizes with both, and index values are checked on the host: ATen's CUDA gather only
// asserts on the device.
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* binding = "gather";
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& indices = TensorArg(info, 1);
  int64_t axis = IntArg(info, 2), batch_dims = IntArg(info, 3);
  CheckAxis(binding, axis, x.dim());
  auto xs = x.sizes();
  if (batch_dims < 0 || batch_dims > axis || batch_dims > indices.dim() ||
      indices.sizes().slice(0, batch_dims) != xs.slice(0, batch_dims)) {
    throw std::invalid_argument(std::string(binding) + ": batchDims " + std::to_string(batch_dims) + " does not fit x " +
                                TensorString(x) + ", indices " + TensorString(indices) + " and axis " + std::to_string(axis));
  }
  CheckIndexTensor(binding, indices, xs[axis], "axis " + std::to_string(axis) + " of x " + TensorString(x));
  at::Tensor idx = indices.to(at::kLong);
  if (batch_dims == 0) {
    at::Tensor out = at::index_select(x, axis, idx.flatten());
    return Pack(info.Env(), out.reshape(Concat(xs.slice(0, axis), indices.sizes(), xs.slice(axis + 1))));
  }
  // out[b, o, i, s] = x[b, o, indices[b, i], s] over x viewed as [batch, outer, dim, slice].
  int64_t batch = Product(xs.slice(0, batch_dims));
  int64_t outer = Product(xs.slice(batch_dims, axis - batch_dims));
  int64_t slice = Product(xs.slice(axis + 1));
  at::Tensor x4 = x.reshape({batch, outer, xs[axis], slice});
  at::Tensor idx2 = idx.reshape({batch, -1});
  int64_t count = idx2.size(1);
  at::Tensor out = at::gather(x4, 2, idx2.view({batch, 1, count, 1}).expand({batch, outer, count, slice}));
  return Pack(info.Env(), out.reshape(Concat(xs.slice(0, axis), indices.sizes().slice(batch_dims), xs.slice(axis + 1))));
}

// Checks that `indices` holds index tuples (its last dimension, K of them) into the first K dims of `shape`, each
// component in range: FlatOffsets reads shape[0..K), and an out-of-range component could otherwise alias another
// element or, on CUDA, only assert on the device. Returns K.
int64_t CheckIndexTuples(const char* binding, const at::Tensor& indices, at::IntArrayRef shape, const std::string& what) {
  if (indices.dim() < 1 || indices.size(-1) > static_cast<int64_t>(shape.size())) {
    throw std::invalid_argument(std::string(binding) + ": indices " + TensorString(indices) +
                                " must hold index tuples (last dimension) of at most the rank of " + what);
  }
  if (indices.is_floating_point() || indices.scalar_type() == at::kBool) {
    throw std::invalid_argument(std::string(binding) + ": indices " + TensorString(indices) + " must be int32");
  }
  const int64_t k = indices.size(-1);
  if (indices.numel() == 0 || k == 0) return k;
  at::Tensor limits = at::tensor(std::vector<int64_t>(shape.begin(), shape.begin() + k), at::kLong).to(indices.device());
  at::Tensor tuples = indices.to(at::kLong).reshape({-1, k});
  at::Tensor bad = (tuples < 0).logical_or(tuples >= limits).any(1);
  if (bad.any().item<bool>()) {
    at::Tensor first = tuples.index_select(0, bad.nonzero().flatten().narrow(0, 0, 1)).flatten().to(at::kCPU);
    throw std::invalid_argument(std::string(binding) + ": index tuple " + ShapeString({first.data_ptr<int64_t>(), static_cast<size_t>(k)}) +
                                " in " + TensorString(indices) + " is out of range of " + what);
  }
  return k;
}

// Row-major flat offsets of the index tuples in the last dimension of `indices` into the first K dims of `shape`.
at::Tensor FlatOffsets(const at::Tensor& indices, at::IntArrayRef shape) {
  int64_t k = indices.size(-1);
  std::vector<int64_t> strides(k);
  int64_t stride = 1;
  for (int64_t d = k - 1; d >= 0; --d) strides[d] = stride, stride *= shape[d];
  at::Tensor weights = at::tensor(strides, at::TensorOptions().dtype(at::kLong)).to(indices.device());
  return (indices.to(at::kLong) * weights).sum(-1).flatten();
}

// gatherNd(params, indices)
Napi::Value GatherNd(const Napi::CallbackInfo& info) {
  const at::Tensor& params = TensorArg(info, 0);
  const at::Tensor& indices = TensorArg(info, 1);
  int64_t k = CheckIndexTuples("gatherNd", indices, params.sizes(), "params " + TensorString(params));
  auto ps = params.sizes();
  at::Tensor rows = params.reshape({Product(ps.slice(0, k)), Product(ps.slice(k))});
  at::Tensor out = rows.index_select(0, FlatOffsets(indices, ps));
  return Pack(info.Env(), out.reshape(Concat(indices.sizes().slice(0, indices.dim() - 1), ps.slice(k))));
}

// scatterNd(indices, updates, shape): duplicate indices add up, as in tfjs.
Napi::Value ScatterNd(const Napi::CallbackInfo& info) {
  const at::Tensor& indices = TensorArg(info, 0);
  const at::Tensor& updates = TensorArg(info, 1);
  std::vector<int64_t> shape = IntsArg(info, 2);
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("scatterNd: shape " + ShapeString(shape) + " has a negative dimension");
  }
  at::IntArrayRef s(shape);
  int64_t k = CheckIndexTuples("scatterNd", indices, s, "shape " + ShapeString(s));
  int64_t slice = Product(s.slice(k));
  const int64_t tuples = k == 0 ? 1 : indices.numel() / k;
  if (updates.numel() != tuples * slice) {
    throw std::invalid_argument("scatterNd: updates " + TensorString(updates) + " must hold " + std::to_string(tuples) +
                                " slices of " + std::to_string(slice) + " elements for indices " +
                                TensorString(indices) + " into shape " + ShapeString(s));
  }
  at::Tensor out = at::zeros({Product(s.slice(0, k)), slice}, updates.options());
  out.index_add_(0, FlatOffsets(indices, s), updates.reshape({-1, slice}));
  return Pack(info.Env(), out.reshape(shape));
}

Napi::Value Tile(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), TensorArg(info, 0).repeat(IntsArg(info, 1)));
}

Napi::Value Reverse(const Napi::CallbackInfo& info) {
  std::vector<int64_t> dims = IntsArg(info, 1);
  const at::Tensor& x = TensorArg(info, 0);
  return Pack(info.Env(), dims.empty() ? x : x.flip(dims));
}

// Paddings are [before, after] for every dimension of x; the loops below read both for each.
void CheckPaddings(const char* binding, const at::Tensor& x, const std::vector<int64_t>& p) {
  if (p.size() != 2 * static_cast<size_t>(x.dim())) {
    throw std::invalid_argument(std::string(binding) + ": " + std::to_string(p.size() / 2) +
                                (p.size() % 2 ? ".5" : "") + " [before, after] paddings for x " + TensorString(x) +
                                ", which needs " + std::to_string(x.dim()));
  }
}

// pad(x, paddings [before0, after0, before1, after1, ...], value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  std::vector<int64_t> p = IntsArg(info, 1);
  CheckPaddings("pad", x, p);
  std::vector<int64_t> aten;  // ATen lists pads from the last dimension backwards
  for (int64_t d = x.dim() - 1; d >= 0; --d) aten.push_back(p[2 * d]), aten.push_back(p[2 * d + 1]);
  return Pack(info.Env(), at::constant_pad_nd(x, aten, DoubleArg(info, 2)));
}

// mirrorPad(x, paddings, symmetric): 'reflect' excludes the edge, 'symmetric' repeats it.
Napi::Value MirrorPad(const Napi::CallbackInfo& info) {
  at::Tensor y = TensorArg(info, 0);
  std::vector<int64_t> p = IntsArg(info, 1);
  bool symmetric = BoolArg(info, 2);
  CheckPaddings("mirrorPad", y, p);
  for (int64_t d = 0; d < y.dim(); ++d) {
    int64_t n = y.size(d), before = p[2 * d], after = p[2 * d + 1];
    if (!before && !after) continue;
    // Beyond this the mirrored index leaves [0, n) (tfjs's own limit).
    const int64_t most = symmetric ? n : n - 1;
    if (before < 0 || after < 0 || before > most || after > most) {
      throw std::invalid_argument("mirrorPad: paddings [" + std::to_string(before) + "," + std::to_string(after) +
                                  "] of dimension " + std::to_string(d) + " of x " + TensorString(y) +
                                  " must be in [0, " + std::to_string(most) + "] in " +
                                  (symmetric ? "symmetric" : "reflect") + " mode");
    }
    std::vector<int64_t> idx;
    for (int64_t i = -before; i < n + after; ++i) {
      int64_t j = i;
      if (j < 0) j = symmetric ? -j - 1 : -j;
      if (j >= n) j = symmetric ? 2 * n - 1 - j : 2 * n - 2 - j;
      idx.push_back(j);
    }
    y = y.index_select(d, at::tensor(idx, at::TensorOptions().dtype(at::kLong)).to(y.device()));
  }
  return Pack(info.Env(), y);
}

Napi::Value BroadcastTo(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), TensorArg(info, 0).expand(IntsArg(info, 1)));
}

// unsortedSegmentSum(x, segmentIds, numSegments): ids outside [0, numSegments) contribute nothing.
Napi::Value UnsortedSegmentSum(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  const at::Tensor& ids_in = TensorArg(info, 1);
  int64_t n = IntArg(info, 2);
  // The result's shape is [n, ...x's dims after segmentIds' dims]: segmentIds must be a leading part of x's shape.
  if (ids_in.dim() > x.dim() || x.sizes().slice(0, ids_in.dim()) != ids_in.sizes() || n < 0) {
    throw std::invalid_argument("unsortedSegmentSum: segmentIds " + TensorString(ids_in) + " must have the leading shape of x " +
                                TensorString(x) + " and numSegments (" + std::to_string(n) + ") must be >= 0");
  }
  at::Tensor ids = ids_in.to(at::kLong).flatten();
  at::Tensor rows = x.reshape({ids.size(0), -1});
  at::Tensor valid = (ids >= 0).logical_and(ids < n);
  rows = at::where(valid.unsqueeze(1), rows, at::zeros_like(rows));
  ids = at::where(valid, ids, at::zeros_like(ids));
  at::Tensor out = at::zeros({n, rows.size(1)}, rows.options()).index_add_(0, ids, rows);
  return Pack(info.Env(), out.reshape(Concat({n}, x.sizes().slice(ids_in.dim()))));
}

// oneHot(indices, depth, onValue, offValue, dtype): out-of-range indices give an all-off row, as in tfjs.
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  const at::Tensor& indices = TensorArg(info, 0);
  int64_t depth = IntArg(info, 1);
  double on = DoubleArg(info, 2), off = DoubleArg(info, 3);
  int32_t dtype = static_cast<int32_t>(IntArg(info, 4));
  at::Tensor classes = at::arange(depth, indices.options().dtype(at::kLong));
  at::Tensor hit = indices.to(at::kLong).unsqueeze(-1).eq(classes);
  at::Tensor out = at::where(hit, at::scalar_tensor(on, Options(at::kFloat)), at::scalar_tensor(off, Options(at::kFloat)));
  return Pack(info.Env(), out, dtype);
}

// nonzero(condition) -> int32 [count, rank] coordinates of true elements (tfjs's backend.where)
Napi::Value Nonzero(const Napi::CallbackInfo& info) {
  return Pack(info.Env(), at::nonzero(TensorArg(info, 0)), kInt32);
}

}  // namespace

void RegisterShape(Napi::Env env, Napi::Object exports) {
  Export<Reshape>(env, exports, "reshape");
  Export<Transpose>(env, exports, "transpose");
  Export<Slice>(env, exports, "slice");
  Export<StridedSlice>(env, exports, "stridedSlice");
  Export<ConcatKernel>(env, exports, "concat");
  Export<Stack>(env, exports, "stack");
  Export<Unstack>(env, exports, "unstack");
  Export<Split>(env, exports, "split");
  Export<Gather>(env, exports, "gather");
  Export<GatherNd>(env, exports, "gatherNd");
  Export<ScatterNd>(env, exports, "scatterNd");
  Export<Tile>(env, exports, "tile");
  Export<Reverse>(env, exports, "reverse");
  Export<Pad>(env, exports, "pad");
  Export<MirrorPad>(env, exports, "mirrorPad");
  Export<BroadcastTo>(env, exports, "broadcastTo");
  Export<UnsortedSegmentSum>(env, exports, "unsortedSegmentSum");
  Export<OneHot>(env, exports, "oneHot");
  Export<Nonzero>(env, exports, "nonzero");
}

}  // namespace sqakd
