// Separable resampling along one axis, the building block of ResizeBilinear / ResizeNearestNeighbor and their
// gradients. JS computes the source indices and weights with tfjs's coordinate rules (align corners, half-pixel
// centres); here output position i along `axis` is x[i0[i]] + (x[i1[i]] - x[i0[i]]) * frac[i].
// Also CropAndResize, whose per-box sample positions are computed here, on the device, from the boxes tensor.
#include "common.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

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

// Sample positions of CropAndResize along one axis, for every box: TensorFlow's align-corners rule
// lo * (size - 1) + i * (hi - lo) * (size - 1) / (crop - 1), or the box centre when crop is 1. Computed in double
// in the same order as tfjs's cpu kernel, so that floor/ceil pick the same source pixels. Returns [positions, valid]
// ([boxes, crop] each); positions outside [0, size - 1] take the extrapolation value.
std::pair<at::Tensor, at::Tensor> SamplePositions(const at::Tensor& lo, const at::Tensor& hi, int64_t size, int64_t crop) {
  const double last = static_cast<double>(size - 1);
  at::Tensor positions;
  if (crop > 1) {
    at::Tensor scale = (hi - lo) * last / static_cast<double>(crop - 1);
    at::Tensor steps = at::arange(crop, lo.options()).unsqueeze(0);
    positions = (lo * last).unsqueeze(1) + steps * scale.unsqueeze(1);
  } else {
    positions = ((lo + hi) * 0.5 * last).unsqueeze(1);
  }
  return {positions, (positions >= 0) & (positions <= last)};
}

// cropAndResize(image, boxes, boxInd, cropHeight, cropWidth, nearest, extrapolationValue) -> float32
// [boxes, cropHeight, cropWidth, depth] with tfjs's cpu semantics: boxes [y1, x1, y2, x2] in normalised
// coordinates (y1 > y2 or x1 > x2 flips), bilinear interpolating along x first and then y as cpu does, nearest
// rounding half up, and boxes whose image index is outside the batch left as zeros.
Napi::Value CropAndResize(const Napi::CallbackInfo& info) {
  at::Tensor image = TensorArg(info, 0);
  at::Tensor boxes = TensorArg(info, 1).to(at::kDouble);
  at::Tensor box_index = TensorArg(info, 2).to(at::kLong);
  int64_t crop_h = IntArg(info, 3), crop_w = IntArg(info, 4);
  bool nearest = BoolArg(info, 5);
  double extrapolation = DoubleArg(info, 6);
  if (image.dim() != 4 || boxes.dim() != 2 || boxes.size(1) != 4) {
    throw std::invalid_argument("cropAndResize needs a rank-4 image and boxes of shape [n, 4]");
  }
  if (!image.is_floating_point()) image = image.to(at::kFloat);
  const int64_t batch = image.size(0), height = image.size(1), width = image.size(2);
  const int64_t n = boxes.size(0);
  auto [rows, rows_valid] = SamplePositions(boxes.select(1, 0), boxes.select(1, 2), height, crop_h);
  auto [cols, cols_valid] = SamplePositions(boxes.select(1, 1), boxes.select(1, 3), width, crop_w);
  at::Tensor box_valid = (box_index >= 0) & (box_index < batch);
  at::Tensor which = box_index.clamp(0, std::max<int64_t>(batch - 1, 0)).view({n, 1, 1});
  at::Tensor out;
  if (nearest) {
    // floor(p + 0.5) is JS's Math.round for the non-negative positions that are in range.
    at::Tensor r = (rows + 0.5).floor().clamp(0, height - 1).to(at::kLong).view({n, crop_h, 1});
    at::Tensor c = (cols + 0.5).floor().clamp(0, width - 1).to(at::kLong).view({n, 1, crop_w});
    out = image.index({which, r, c});
  } else {
    // Along x: every image row at the crop's columns ([n, height, cropW, depth]), then along y.
    at::Tensor x0 = cols.floor();
    at::Tensor left = x0.clamp(0, width - 1).to(at::kLong).view({n, 1, crop_w});
    at::Tensor right = cols.ceil().clamp(0, width - 1).to(at::kLong).view({n, 1, crop_w});
    at::Tensor x_lerp = (cols - x0).to(image.scalar_type()).view({n, 1, crop_w, 1});
    at::Tensor all_rows = at::arange(height, box_index.options()).view({1, height, 1});
    at::Tensor l = image.index({which, all_rows, left});
    at::Tensor across = l + (image.index({which, all_rows, right}) - l) * x_lerp;
    at::Tensor y0 = rows.floor();
    at::Tensor per_box = at::arange(n, box_index.options()).view({n, 1});
    at::Tensor top = across.index({per_box, y0.clamp(0, height - 1).to(at::kLong)});
    at::Tensor bottom = across.index({per_box, rows.ceil().clamp(0, height - 1).to(at::kLong)});
    at::Tensor y_lerp = (rows - y0).to(image.scalar_type()).view({n, crop_h, 1, 1});
    out = top + (bottom - top) * y_lerp;
  }
  at::Tensor inside = rows_valid.view({n, crop_h, 1, 1}) & cols_valid.view({n, 1, crop_w, 1});
  out = out.masked_fill(inside.logical_not(), extrapolation);
  out = out.masked_fill(box_valid.logical_not().view({n, 1, 1, 1}), 0);
  return Pack(info.Env(), out, kFloat32);
}

}  // namespace

void RegisterImage(Napi::Env env, Napi::Object exports) {
  Export<InterpAxis>(env, exports, "interpAxis");
  Export<InterpAxisGrad>(env, exports, "interpAxisGrad");
  Export<CropAndResize>(env, exports, "cropAndResize");
}

}  // namespace sqakd
