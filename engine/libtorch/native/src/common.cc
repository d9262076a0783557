#include "common.h"

#include <stdexcept>
#include <unordered_set>

namespace sqakd {

at::ScalarType ScalarTypeOf(int32_t code) {
  switch (code) {
    case kFloat32: return at::kFloat;
    case kInt32: return at::kInt;
    case kBool: return at::kBool;
    default: throw std::invalid_argument("unknown dtype code " + std::to_string(code) + " (valid: 0 float32, 1 int32, 2 bool)");
  }
}

int32_t CodeOf(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return kFloat32;
    case at::kInt: return kInt32;
    case at::kBool: return kBool;
    default: throw std::invalid_argument(std::string("dtype ") + c10::toString(type) + " has no tfjs equivalent");
  }
}

int32_t TensorTable::Put(at::Tensor tensor) {
  ++live_;
  if (!free_.empty()) {
    int32_t slot = free_.back();
    free_.pop_back();
    slots_[slot] = std::move(tensor);
    return slot + 1;
  }
  slots_.push_back(std::move(tensor));
  return static_cast<int32_t>(slots_.size());
}

const at::Tensor& TensorTable::Get(int32_t handle) const {
  if (handle < 1 || handle > static_cast<int32_t>(slots_.size()) || !slots_[handle - 1].defined()) {
    throw std::invalid_argument("tensor handle " + std::to_string(handle) + " is not live (disposed tensor?)");
  }
  return slots_[handle - 1];
}

void TensorTable::Release(int32_t handle) {
  if (handle < 1 || handle > static_cast<int32_t>(slots_.size()) || !slots_[handle - 1].defined()) {
    throw std::invalid_argument("release of tensor handle " + std::to_string(handle) + " that is not live");
  }
  slots_[handle - 1].reset();  // drops ATen's reference: the storage is freed when no view still uses it
  free_.push_back(handle - 1);
  --live_;
}

int64_t TensorTable::StorageBytes() const {
  std::unordered_set<const void*> seen;
  int64_t bytes = 0;
  for (const auto& t : slots_) {
    if (!t.defined() || !t.has_storage()) continue;
    const auto* impl = t.storage().unsafeGetStorageImpl();
    if (seen.insert(impl).second) bytes += static_cast<int64_t>(t.storage().nbytes());
  }
  return bytes;
}

TensorTable& Table() {
  static TensorTable table;
  return table;
}

namespace {
at::Device& DeviceSlot() {
  static at::Device device(at::kCPU);
  return device;
}
}  // namespace

const at::Device& CurrentDevice() { return DeviceSlot(); }
void SetCurrentDevice(const at::Device& device) { DeviceSlot() = device; }
at::TensorOptions Options(at::ScalarType type) { return at::TensorOptions().dtype(type).device(CurrentDevice()); }

namespace {
[[noreturn]] void BadArg(size_t i, const char* expected) {
  throw std::invalid_argument("argument " + std::to_string(i) + " must be " + expected);
}
}  // namespace

bool IsMissing(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

const at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) BadArg(i, "a tensor handle");
  return Table().Get(info[i].As<Napi::Number>().Int32Value());
}

std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) BadArg(i, "an array of tensor handles");
  auto array = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) BadArg(i, "an array of tensor handles");
    out.push_back(Table().Get(v.As<Napi::Number>().Int32Value()));
  }
  return out;
}

std::vector<int64_t> IntsArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) BadArg(i, "an array of integers");
  auto array = info[i].As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) BadArg(i, "an array of integers");
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

std::vector<double> DoublesArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) BadArg(i, "an array of numbers");
  auto array = info[i].As<Napi::Array>();
  std::vector<double> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) BadArg(i, "an array of numbers");
    out[k] = v.As<Napi::Number>().DoubleValue();
  }
  return out;
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) BadArg(i, "an integer");
  return info[i].As<Napi::Number>().Int64Value();
}

double DoubleArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) BadArg(i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean()) BadArg(i, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) BadArg(i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

namespace {
at::ScalarType TfjsTypeFor(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
    case at::kInt:
    case at::kBool:
      return type;
    case at::kDouble:
    case at::kHalf:
    case at::kBFloat16:
      return at::kFloat;
    case at::kLong:
    case at::kShort:
    case at::kChar:
    case at::kByte:
      return at::kInt;
    default:
      throw std::invalid_argument(std::string("kernel produced dtype ") + c10::toString(type) + ", which tfjs cannot hold");
  }
}

Napi::Value Describe(Napi::Env env, int32_t handle, const at::Tensor& t) {
  auto out = Napi::Array::New(env, 2 + t.dim());
  out.Set(uint32_t{0}, Napi::Number::New(env, handle));
  out.Set(uint32_t{1}, Napi::Number::New(env, CodeOf(t.scalar_type())));
  for (int64_t d = 0; d < t.dim(); ++d) out.Set(static_cast<uint32_t>(2 + d), Napi::Number::New(env, static_cast<double>(t.size(d))));
  return out;
}
}  // namespace

Napi::Value Pack(Napi::Env env, at::Tensor result) {
  at::ScalarType type = TfjsTypeFor(result.scalar_type());
  if (type != result.scalar_type()) result = result.to(type);
  int32_t handle = Table().Put(result);
  return Describe(env, handle, Table().Get(handle));
}

at::Tensor JsToInt32(const at::Tensor& x) {
  // In double, where every int32 and the modulo arithmetic below are exact.
  at::Tensor finite = at::where(at::isfinite(x), at::trunc(x), at::zeros_like(x)).to(at::kDouble);
  return at::remainder(finite + 2147483648.0, 4294967296.0).sub(2147483648.0).to(at::kInt);
}

Napi::Value Pack(Napi::Env env, const at::Tensor& result, int32_t dtype_code) {
  at::ScalarType type = ScalarTypeOf(dtype_code);
  if (result.scalar_type() == type) return Pack(env, result);
  if (type == at::kInt && result.is_floating_point()) return Pack(env, JsToInt32(result));
  return Pack(env, result.to(type));
}

Napi::Value PackList(Napi::Env env, const std::vector<at::Tensor>& results) {
  auto out = Napi::Array::New(env, results.size());
  for (size_t k = 0; k < results.size(); ++k) out.Set(static_cast<uint32_t>(k), Pack(env, results[k]));
  return out;
}

}  // namespace sqakd
