// Separable resampling along one axis, the building block of ResizeBilinear / ResizeNearestNeighbor and their
// gradients. JS computes the source indices and weights with tfjs's coordinate rules (align corners, half-pixel
// centres); here output position i along `axis` is x[i0[i]] + (x[i1[i]] - x[i0[i]]) * frac[i].
// Also CropAndResize, whose per-box sample positions are computed here, on the device, from the boxes tensor.
#include "checks.h"
#include "common.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sqakd {
namespace {

at::Tensor IndexTensor(const std::vector<int64_t>& v, const at::Device& device) {
  return at::tensor(v, at::TensorOptions().dtype(at::kLong)).to(device);
}

// `axis` must be a valid dimension (checked by the callers, which index a shape vector with it).
at::Tensor AlongAxis(const std::vector<double>& v, int64_t axis, int64_t rank, const at::TensorOptions& opts) {
  std::vector<int64_t> shape(rank, 1);
  shape[axis] = static_cast<int64_t>(v.size());
  return at::tensor(v, at::TensorOptions().dtype(at::kDouble)).to(opts.device()).to(at::kFloat).reshape(shape);
}

// The index and weight maps come from JS; the images are rank 4 (NHWC) and resampled along H or W. Index values
// are checked here, on the host, because on CUDA index_select / index_add_ only assert on the device.
struct AxisMapArgs {
  std::vector<int64_t> i0, i1;
  std::vector<double> frac;
  bool interpolate;
};

// Reads the maps from arguments first.. first + 2; every index must be below `source_size`.
AxisMapArgs MapArgs(const Napi::CallbackInfo& info, size_t first, const char* binding, int64_t axis,
                    int64_t source_size) {
  AxisMapArgs m{IntsArg(info, first), {}, {}, !IsMissing(info, first + 2)};
  const std::string what = "axis " + std::to_string(axis) + " of size " + std::to_string(source_size);
  CheckIndexList(binding, m.i0, source_size, what);
  if (m.interpolate) {
    m.i1 = IntsArg(info, first + 1);
    m.frac = DoublesArg(info, first + 2);
    CheckLength(binding, "i1", m.i1.size(), m.i0.size());
    CheckLength(binding, "frac", m.frac.size(), m.i0.size());
    CheckIndexList(binding, m.i1, source_size, what);
  }
  return m;
}

// interpAxis(x, axis, i0, i1, frac | null); without frac it is a plain gather of i0 (nearest neighbour), which
// keeps x's dtype as tfjs's ResizeNearestNeighbor does; interpolation gives float32.
Napi::Value InterpAxis(const Napi::CallbackInfo& info) {
  at::Tensor x = TensorArg(info, 0);
  int64_t axis = IntArg(info, 1);
  CheckRank("interpAxis", "x", x, 4);
  CheckAxis("interpAxis", axis, x.dim());
  const AxisMapArgs m = MapArgs(info, 2, "interpAxis", axis, x.size(axis));
  if (!m.interpolate) return Pack(info.Env(), x.index_select(axis, IndexTensor(m.i0, x.device())));
  if (!x.is_floating_point()) x = x.to(at::kFloat);
  at::Tensor lo = x.index_select(axis, IndexTensor(m.i0, x.device()));
  at::Tensor hi = x.index_select(axis, IndexTensor(m.i1, x.device()));
  at::Tensor frac = AlongAxis(m.frac, axis, x.dim(), x.options());
  return Pack(info.Env(), lo + (hi - lo) * frac, kFloat32);
}

// interpAxisGrad(dy, axis, inputSize, i0, i1, frac | null): the transpose of interpAxis. dy must be rank 4 with one
// map entry per position along `axis`; the result has inputSize there.
Napi::Value InterpAxisGrad(const Napi::CallbackInfo& info) {
  const char* binding = "interpAxisGrad";
  const at::Tensor& dy = TensorArg(info, 0);
  int64_t axis = IntArg(info, 1), size = IntArg(info, 2);
  CheckRank(binding, "dy", dy, 4);
  CheckAxis(binding, axis, dy.dim());
  if (size < 0) throw std::invalid_argument(std::string(binding) + ": inputSize " + std::to_string(size) + " is negative");
  const AxisMapArgs m = MapArgs(info, 3, binding, axis, size);
  CheckLength(binding, "i0 (one entry per position of dy along the axis)", m.i0.size(), static_cast<size_t>(dy.size(axis)));
  std::vector<int64_t> shape = dy.sizes().vec();
  shape[axis] = size;
  at::Tensor dx = at::zeros(shape, dy.options());
  at::Tensor i0 = IndexTensor(m.i0, dy.device());
  if (!m.interpolate) return Pack(info.Env(), dx.index_add_(axis, i0, dy), kFloat32);
  at::Tensor frac = AlongAxis(m.frac, axis, dy.dim(), dy.options());
  dx.index_add_(axis, i0, dy * (1 - frac));
  dx.index_add_(axis, IndexTensor(m.i1, dy.device()), dy * frac);
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
  const at::Tensor& boxes_in = TensorArg(info, 1);
  at::Tensor boxes = boxes_in.to(at::kDouble);
  at::Tensor box_index = TensorArg(info, 2).to(at::kLong);
  int64_t crop_h = IntArg(info, 3), crop_w = IntArg(info, 4);
  bool nearest = BoolArg(info, 5);
  double extrapolation = DoubleArg(info, 6);
  const char* binding = "cropAndResize";
  if (image.dim() != 4 || boxes.dim() != 2 || boxes.size(1) != 4) {
    throw std::invalid_argument(std::string(binding) + ": needs a rank-4 image and boxes of shape [n, 4], got image " +
                                TensorString(image) + " and boxes " + TensorString(boxes_in));
  }
  if (crop_h < 1 || crop_w < 1) {
    throw std::invalid_argument(std::string(binding) + ": crop size [" + std::to_string(crop_h) + "," +
                                std::to_string(crop_w) + "] must be positive");
  }
  if (!image.is_floating_point()) image = image.to(at::kFloat);
  const int64_t batch = image.size(0), height = image.size(1), width = image.size(2);
  const int64_t n = boxes.size(0);
  CheckLength(binding, "boxInd", static_cast<size_t>(box_index.numel()), static_cast<size_t>(n));
  // The sample indices below are clamped into the image; an empty image leaves nothing to clamp into (and an
  // out-of-range index is only a device-side assert on CUDA).
  if (n > 0 && (batch == 0 || height == 0 || width == 0)) {
    if (batch == 0) return Pack(info.Env(), at::zeros({n, crop_h, crop_w, image.size(3)}, image.options()), kFloat32);
    throw std::invalid_argument(std::string(binding) + ": image " + TensorString(image) + " has no pixels to sample");
  }
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
