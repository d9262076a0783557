// Argument checks for bindings whose code trusts shapes, lengths or index values: hand-written loops over raw
// data pointers, std::vector indexing by an argument, and index tensors that reach ATen kernels which do not check
// their range on CUDA (a device-side assert there kills the process). Each throws std::invalid_argument with a
// message naming the binding and the shapes involved.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sqakd {

// "float32[2,3]", as the TypeScript side prints tensors.
std::string TensorString(const at::Tensor& t);
// "[2,3]"
std::string ShapeString(at::IntArrayRef shape);

// Throws unless `t` has exactly `rank` dimensions.
void CheckRank(const char* binding, const char* name, const at::Tensor& t, int64_t rank);
// Throws unless `t` has the sizes of `like` (named `like_name`).
void CheckSameShape(const char* binding, const char* name, const at::Tensor& t, const char* like_name,
                    const at::Tensor& like);
// Throws unless `t` is a rank-1 tensor of `channels` elements.
void CheckPerChannel(const char* binding, const char* name, const at::Tensor& t, int64_t channels);
// Throws unless `t` is float32.
void CheckFloat(const char* binding, const char* name, const at::Tensor& t);
// Throws unless `t` is on the same device as `like`.
void CheckSameDevice(const char* binding, const char* name, const at::Tensor& t, const at::Tensor& like);
// Throws unless 0 <= axis < rank; returns it.
int64_t CheckAxis(const char* binding, int64_t axis, int64_t rank);
// Throws unless a list argument has the expected number of entries.
void CheckLength(const char* binding, const char* name, size_t actual, size_t expected);
// Throws unless every value of the integer tensor `indices` is in [0, limit). Reads the tensor's minimum and
// maximum (one small device-to-host copy on CUDA).
void CheckIndexTensor(const char* binding, const at::Tensor& indices, int64_t limit, const std::string& what);
// Same for host-side index lists.
void CheckIndexList(const char* binding, const std::vector<int64_t>& indices, int64_t limit, const std::string& what);

}  // namespace sqakd
