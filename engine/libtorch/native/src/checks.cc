#include "checks.h"

#include <algorithm>
#include <stdexcept>

namespace sqakd {
namespace {

std::string DTypeName(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}

[[noreturn]] void Fail(const char* binding, const std::string& message) {
  throw std::invalid_argument(std::string(binding) + ": " + message);
}

}  // namespace

std::string ShapeString(at::IntArrayRef shape) {
  std::string out = "[";
  for (size_t d = 0; d < shape.size(); ++d) out += (d ? "," : "") + std::to_string(shape[d]);
  return out + "]";
}

std::string TensorString(const at::Tensor& t) { return DTypeName(t.scalar_type()) + ShapeString(t.sizes()); }

void CheckRank(const char* binding, const char* name, const at::Tensor& t, int64_t rank) {
  if (t.dim() != rank) {
    Fail(binding, std::string(name) + " " + TensorString(t) + " must have rank " + std::to_string(rank));
  }
}

void CheckSameShape(const char* binding, const char* name, const at::Tensor& t, const char* like_name,
                    const at::Tensor& like) {
  if (t.sizes() != like.sizes()) {
    Fail(binding, std::string(name) + " " + TensorString(t) + " must have the shape of " + like_name + " " +
                      TensorString(like));
  }
}

void CheckPerChannel(const char* binding, const char* name, const at::Tensor& t, int64_t channels) {
  if (t.dim() != 1 || t.size(0) != channels) {
    Fail(binding, std::string(name) + " " + TensorString(t) + " must have shape [" + std::to_string(channels) +
                      "] (one value per channel)");
  }
}

void CheckFloat(const char* binding, const char* name, const at::Tensor& t) {
  if (t.scalar_type() != at::kFloat) Fail(binding, std::string(name) + " " + TensorString(t) + " must be float32");
}

void CheckSameDevice(const char* binding, const char* name, const at::Tensor& t, const at::Tensor& like) {
  if (t.device() != like.device()) {
    Fail(binding, std::string(name) + " " + TensorString(t) + " is on " + t.device().str() + ", not " +
                      like.device().str());
  }
}

int64_t CheckAxis(const char* binding, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank) {
    Fail(binding, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis;
}

void CheckLength(const char* binding, const char* name, size_t actual, size_t expected) {
  if (actual != expected) {
    Fail(binding, std::string(name) + " has " + std::to_string(actual) + " entries, expected " +
                      std::to_string(expected));
  }
}

void CheckIndexTensor(const char* binding, const at::Tensor& indices, int64_t limit, const std::string& what) {
  if (indices.numel() == 0) return;
  if (indices.is_floating_point() || indices.scalar_type() == at::kBool) {
    Fail(binding, "indices " + TensorString(indices) + " must be int32");
  }
  auto [lo_t, hi_t] = at::aminmax(indices);
  // One copy to the host for both bounds (a single synchronisation on CUDA).
  const at::Tensor bounds = at::stack({lo_t, hi_t}).to(at::kCPU, at::kLong);
  const int64_t lo = bounds.data_ptr<int64_t>()[0], hi = bounds.data_ptr<int64_t>()[1];
  if (lo < 0 || hi >= limit) {
    Fail(binding, "index " + std::to_string(lo < 0 ? lo : hi) + " in " + TensorString(indices) + " is out of range [0, " +
                      std::to_string(limit) + ") of " + what);
  }
}

void CheckIndexList(const char* binding, const std::vector<int64_t>& indices, int64_t limit, const std::string& what) {
  for (int64_t i : indices) {
    if (i < 0 || i >= limit) {
      Fail(binding, "index " + std::to_string(i) + " is out of range [0, " + std::to_string(limit) + ") of " + what);
    }
  }
}

}  // namespace sqakd
