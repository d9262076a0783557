// Elementwise kernels. Unary and binary ops are tables indexed by position; JS reads the names once and calls
// `unary(index, x, dtype)` / `binary(index, a, b, dtype)`, so one binding serves every op. `dtype` is the output
// dtype of the tfjs kernel contract (the result is cast to it).
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

#include "common.h"

namespace sqakd {
namespace {

// Integer and bool inputs of floating-point maths are computed in double, as tfjs computes them in JS numbers;
// the result is then cast to the kernel's dtype (an int32 input keeps int32 in tfjs, truncated by Pack).
at::Tensor AsFloating(const at::Tensor& x) { return x.is_floating_point() ? x : x.to(at::kDouble); }

struct UnaryOp {
  const char* name;
  at::Tensor (*fn)(const at::Tensor&);
};

// Ops that only make sense on floats compute in floating point; integer-valued ops (abs, neg, ...) keep ints.
#define FLOAT_UNARY(NAME, EXPR) {NAME, [](const at::Tensor& t) { const at::Tensor x = AsFloating(t); return EXPR; }}
#define ANY_UNARY(NAME, EXPR) {NAME, [](const at::Tensor& x) { return EXPR; }}

const UnaryOp kUnaryOps[] = {
    ANY_UNARY("abs", x.scalar_type() == at::kBool ? x : at::abs(x)),
    FLOAT_UNARY("acos", at::acos(x)),
    FLOAT_UNARY("acosh", at::acosh(x)),
    FLOAT_UNARY("asin", at::asin(x)),
    FLOAT_UNARY("asinh", at::asinh(x)),
    FLOAT_UNARY("atan", at::atan(x)),
    FLOAT_UNARY("atanh", at::atanh(x)),
    FLOAT_UNARY("ceil", at::ceil(x)),
    FLOAT_UNARY("cos", at::cos(x)),
    FLOAT_UNARY("cosh", at::cosh(x)),
    FLOAT_UNARY("elu", at::elu(x)),
    FLOAT_UNARY("erf", at::erf(x)),
    FLOAT_UNARY("exp", at::exp(x)),
    FLOAT_UNARY("expm1", at::expm1(x)),
    FLOAT_UNARY("floor", at::floor(x)),
    ANY_UNARY("isFinite", at::isfinite(x)),
    ANY_UNARY("isInf", at::isinf(x)),
    ANY_UNARY("isNan", at::isnan(x)),
    FLOAT_UNARY("log", at::log(x)),
    FLOAT_UNARY("log1p", at::log1p(x)),
    ANY_UNARY("logicalNot", at::logical_not(x)),
    ANY_UNARY("neg", x.scalar_type() == at::kBool ? x.to(at::kInt).neg() : at::neg(x)),
    FLOAT_UNARY("reciprocal", at::reciprocal(x)),
    ANY_UNARY("relu", x.scalar_type() == at::kBool ? x : at::relu(x)),
    ANY_UNARY("relu6", at::clamp(x, 0, 6)),
    FLOAT_UNARY("round", at::round(x)),  // half to even, as tfjs
    FLOAT_UNARY("rsqrt", at::rsqrt(x)),
    FLOAT_UNARY("selu", at::selu(x)),
    FLOAT_UNARY("sigmoid", at::sigmoid(x)),
    ANY_UNARY("sign", x.scalar_type() == at::kBool ? x : at::sign(x)),
    FLOAT_UNARY("sin", at::sin(x)),
    FLOAT_UNARY("sinh", at::sinh(x)),
    FLOAT_UNARY("softplus", at::softplus(x)),
    FLOAT_UNARY("sqrt", at::sqrt(x)),
    ANY_UNARY("square", x.scalar_type() == at::kBool ? x : at::square(x)),
    FLOAT_UNARY("tan", at::tan(x)),
    FLOAT_UNARY("tanh", at::tanh(x)),
};

struct BinaryOp {
  const char* name;
  at::Tensor (*fn)(const at::Tensor&, const at::Tensor&);
};

// ATen refuses to subtract bools; tfjs subtracts them as numbers.
at::Tensor BoolAsInt(const at::Tensor& x) { return x.scalar_type() == at::kBool ? x.to(at::kInt) : x; }

bool BothIntegral(const at::Tensor& a, const at::Tensor& b) {
  return !a.is_floating_point() && !b.is_floating_point();
}

// Integer division and powers follow JS arithmetic (Math.floor(a / b), Math.pow) as tfjs does, so they are
// computed in double and truncated by the final cast instead of raising ATen's integer-division errors.
// FloorDiv's result is int32 for every input dtype in tfjs, so floats divide in double too: a float32 quotient
// can round up to the next integer before the floor.
at::Tensor FloorDiv(const at::Tensor& a, const at::Tensor& b) {
  return at::floor(at::div(a.to(at::kDouble), b.to(at::kDouble)));
}

at::Tensor Pow(const at::Tensor& a, const at::Tensor& b) {
  if (BothIntegral(a, b)) return at::pow(a.to(at::kDouble), b.to(at::kDouble));
  return at::pow(a, b);
}

at::Tensor Mod(const at::Tensor& a, const at::Tensor& b) {
  if (BothIntegral(a, b)) return at::remainder(a.to(at::kDouble), b.to(at::kDouble));
  return at::remainder(a, b);
}

#define BINARY(NAME, EXPR) {NAME, [](const at::Tensor& a, const at::Tensor& b) { return EXPR; }}

const BinaryOp kBinaryOps[] = {
    BINARY("add", a.scalar_type() == at::kBool ? at::logical_or(a, b) : at::add(a, b)),
    BINARY("sub", at::sub(BoolAsInt(a), BoolAsInt(b))),
    BINARY("multiply", at::mul(a, b)),
    BINARY("realDiv", at::div(AsFloating(a), AsFloating(b))),
    BINARY("floorDiv", FloorDiv(a, b)),
    BINARY("maximum", at::maximum(a, b)),
    BINARY("minimum", at::minimum(a, b)),
    BINARY("mod", Mod(a, b)),
    BINARY("pow", Pow(a, b)),
    BINARY("squaredDifference", at::square(at::sub(BoolAsInt(a), BoolAsInt(b)))),
    BINARY("atan2", at::atan2(AsFloating(a), AsFloating(b))),
    BINARY("equal", at::eq(a, b)),
    BINARY("notEqual", at::ne(a, b)),
    BINARY("less", at::lt(a, b)),
    BINARY("lessEqual", at::le(a, b)),
    BINARY("greater", at::gt(a, b)),
    BINARY("greaterEqual", at::ge(a, b)),
    BINARY("logicalAnd", at::logical_and(a, b)),
    BINARY("logicalOr", at::logical_or(a, b)),
    BINARY("logicalXor", at::logical_xor(a, b)),
    BINARY("bitwiseAnd", at::bitwise_and(a, b)),
    BINARY("prelu", at::where(at::lt(a, 0), at::mul(a, b), a)),
    // EluGrad(dy, y): dy where y >= 0, dy * (y + 1) below.
    BINARY("eluGrad", at::where(at::ge(b, 0), a, at::mul(a, at::add(b, 1)))),
};

template <typename Table, size_t N>
Napi::Value Names(Napi::Env env, const Table (&table)[N]) {
  auto out = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(env, table[i].name));
  return out;
}

template <typename Table, size_t N>
const Table& Lookup(const Table (&table)[N], int64_t index) {
  if (index < 0 || index >= static_cast<int64_t>(N)) throw std::invalid_argument("op index " + std::to_string(index) + " out of range");
  return table[index];
}

// unary(opIndex, x, dtype)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const auto& op = Lookup(kUnaryOps, IntArg(info, 0));
  return Pack(info.Env(), op.fn(TensorArg(info, 1)), static_cast<int32_t>(IntArg(info, 2)));
}

// binary(opIndex, a, b, dtype)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const auto& op = Lookup(kBinaryOps, IntArg(info, 0));
  return Pack(info.Env(), op.fn(TensorArg(info, 1), TensorArg(info, 2)), static_cast<int32_t>(IntArg(info, 3)));
}

// step(x, alpha): 1 where x > 0, alpha elsewhere, NaN stays NaN; the result has x's dtype, as in tfjs.
// tfjs's ReLU gradient runs it on every activation, so float32 CPU tensors get a single fused pass.
Napi::Value Step(const Napi::CallbackInfo& info) {
  const at::Tensor& input = TensorArg(info, 0);
  double alpha = DoubleArg(info, 1);
  if (input.device().is_cpu() && input.scalar_type() == at::kFloat) {
    const at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x);
    const float* xd = x.data_ptr<float>();
    float* yd = y.data_ptr<float>();
    const float a = static_cast<float>(alpha);
    at::parallel_for(0, x.numel(), 32768, [xd, yd, a](int64_t begin, int64_t end) {
      const float* __restrict in = xd;
      float* __restrict out = yd;
      // Selects on loaded values, not branches: activations are about half positive, so a branch mispredicts
      // every other element (it made this pass 10x slower than a multiply).
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float v = in[i];
        const float r = v > 0.0f ? 1.0f : a;
        out[i] = v != v ? v : r;
      }
    });
    return Pack(info.Env(), y);
  }
  const at::Tensor x = AsFloating(input);
  auto y = at::where(at::gt(x, 0), at::ones_like(x), at::full_like(x, alpha));
  return Pack(info.Env(), at::where(at::isnan(x), x, y), CodeOf(input.scalar_type()));
}

// reluGrad(dy, x): dy where x > 0, 0 where x <= 0, NaN where x is NaN (what tfjs's dy * step(x) gives), in one
// pass for float32 CPU tensors.
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& dy_in = TensorArg(info, 0);
  const at::Tensor& x_in = TensorArg(info, 1);
  if (x_in.device().is_cpu() && x_in.scalar_type() == at::kFloat && dy_in.scalar_type() == at::kFloat &&
      x_in.sizes() == dy_in.sizes()) {
    const at::Tensor x = x_in.contiguous(), dy = dy_in.contiguous();
    at::Tensor dx = at::empty_like(x);
    const float* xd = x.data_ptr<float>();
    const float* gd = dy.data_ptr<float>();
    float* out = dx.data_ptr<float>();
    at::parallel_for(0, x.numel(), 32768, [xd, gd, out](int64_t begin, int64_t end) {
      const float* __restrict in = xd;
      const float* __restrict g = gd;
      float* __restrict o = out;
      // Branch-free, as in Step above. g * 0 keeps an infinite or NaN dy's NaN, as tfjs's dy * step(x) does.
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float v = in[i], gv = g[i];
        const float r = v > 0.0f ? gv : gv * 0.0f;
        o[i] = v != v ? v : r;
      }
    });
    return Pack(info.Env(), dx);
  }
  at::Tensor step = at::where(at::isnan(x_in), x_in, at::gt(x_in, 0).to(x_in.scalar_type()));
  return Pack(info.Env(), dy_in * step, kFloat32);
}

// leakyRelu(x, alpha)
Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  double alpha = DoubleArg(info, 1);
  return Pack(info.Env(), at::where(at::lt(x, 0), at::mul(x, alpha), x));
}

// clipByValue(x, min, max): the result keeps x's dtype, as in tfjs (ATen would promote ints clamped by
// fractional bounds to float).
Napi::Value ClipByValue(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  at::Tensor clamped = at::clamp(AsFloating(x), DoubleArg(info, 1), DoubleArg(info, 2));
  return Pack(info.Env(), clamped, CodeOf(x.scalar_type()));
}

// cast(x, dtype): float -> int32 as JS's Int32Array stores numbers (Pack's JsToInt32); any non-zero -> true.
Napi::Value Cast(const Napi::CallbackInfo& info) {
  const at::Tensor& x = TensorArg(info, 0);
  int32_t code = static_cast<int32_t>(IntArg(info, 1));
  if (code == kBool) return Pack(info.Env(), at::ne(x, 0));
  return Pack(info.Env(), x, code);
}

// select(condition, t, e); a rank-1 condition picks whole rows of higher-rank t/e, as tfjs's Select does.
Napi::Value Select(const Napi::CallbackInfo& info) {
  at::Tensor cond = TensorArg(info, 0);
  const at::Tensor& t = TensorArg(info, 1);
  const at::Tensor& e = TensorArg(info, 2);
  if (cond.dim() == 1 && t.dim() > 1) {
    std::vector<int64_t> shape(t.dim(), 1);
    shape[0] = cond.size(0);
    cond = cond.reshape(shape);
  }
  return Pack(info.Env(), at::where(cond.to(at::kBool), t, e), CodeOf(t.scalar_type()));
}

// addN([tensors])
Napi::Value AddN(const Napi::CallbackInfo& info) {
  auto list = TensorListArg(info, 0);
  if (list.empty()) throw std::invalid_argument("addN needs at least one tensor");
  at::Tensor sum = list[0];
  for (size_t i = 1; i < list.size(); ++i) sum = at::add(sum, list[i]);
  return Pack(info.Env(), sum, CodeOf(list[0].scalar_type()));
}

Napi::Value UnaryNames(const Napi::CallbackInfo& info) { return Names(info.Env(), kUnaryOps); }
Napi::Value BinaryNames(const Napi::CallbackInfo& info) { return Names(info.Env(), kBinaryOps); }

}  // namespace

void RegisterElementwise(Napi::Env env, Napi::Object exports) {
  Export<UnaryNames>(env, exports, "unaryOpNames");
  Export<BinaryNames>(env, exports, "binaryOpNames");
  Export<Unary>(env, exports, "unary");
  Export<Binary>(env, exports, "binary");
  Export<Step>(env, exports, "step");
  Export<ReluGrad>(env, exports, "reluGrad");
  Export<LeakyRelu>(env, exports, "leakyRelu");
  Export<ClipByValue>(env, exports, "clipByValue");
  Export<Cast>(env, exports, "cast");
  Export<Select>(env, exports, "select");
  Export<AddN>(env, exports, "addN");
}

}  // namespace sqakd
