#include "ns/trace/record.h"

#include <array>

namespace ns::trace {
namespace {

constexpr std::array<std::string_view, kOpClassCount> kOpClassNames = {
    "No_OpClass",   "IntAlu",        "IntMult",       "IntDiv",         "FloatAdd",
    "FloatCmp",     "FloatCvt",      "FloatMult",     "FloatMultAcc",   "FloatDiv",
    "FloatMisc",    "FloatSqrt",     "SimdAdd",       "SimdAddAcc",     "SimdAlu",
    "SimdCmp",      "SimdCvt",       "SimdMisc",      "SimdMult",       "SimdMultAcc",
    "SimdShift",    "SimdShiftAcc",  "SimdDiv",       "SimdSqrt",       "SimdFloatAdd",
    "SimdFloatAlu", "SimdFloatCmp",  "SimdFloatCvt",  "SimdFloatDiv",   "SimdFloatMisc",
    "SimdFloatMult", "SimdFloatMultAcc", "SimdFloatSqrt", "MemRead",    "MemWrite",
    "FloatMemRead", "FloatMemWrite", "BranchDirect",  "BranchCond",     "BranchIndirect",
    "CallDirect",   "CallIndirect",  "Return",        "Nop",            "Syscall",
    "Serializing"};

constexpr std::array<std::string_view, kRegClassCount> kRegClassNames = {
    "none", "int", "vec", "flags", "x87", "mask", "segment", "misc"};

}  // namespace

std::string_view opclass_name(OpClass c) {
  const auto i = static_cast<size_t>(c);
  return i < kOpClassNames.size() ? kOpClassNames[i] : std::string_view("invalid");
}

std::optional<OpClass> parse_opclass(std::string_view name) {
  for (size_t i = 0; i < kOpClassNames.size(); ++i)
    if (kOpClassNames[i] == name) return static_cast<OpClass>(i);
  return std::nullopt;
}

bool is_branch_class(OpClass c) { return c >= OpClass::BranchDirect && c <= OpClass::Return; }

bool is_float_or_simd_class(OpClass c) {
  return (c >= OpClass::FloatAdd && c <= OpClass::SimdFloatSqrt) || c == OpClass::FloatMemRead ||
         c == OpClass::FloatMemWrite;
}

std::string_view regclass_name(RegClass c) {
  const auto i = static_cast<size_t>(c);
  return i < kRegClassNames.size() ? kRegClassNames[i] : std::string_view("invalid");
}

std::string_view validate_record(const Record& r) {
  if (r.opclass >= kOpClassCount) return "opclass out of range";
  if (r.flags & ~kFlagsDefined) return "undefined flag bits set";
  for (const RegRef& reg : {r.src1, r.src2, r.dst, r.src3, r.dst2}) {
    if (reg.cls >= kRegClassCount) return "register class out of range";
    if (reg.idx >= kRegIndexCount) return "register index out of range";
    if (reg.cls == 0 && reg.idx != 0) return "register index without a class";
  }
  if ((r.mem_size == 0) != ((r.flags & (kFlagLoad | kFlagStore)) == 0))
    return "memory size and load/store flags disagree";
  if ((r.flags & (kFlagConditional | kFlagTaken | kFlagCall | kFlagReturn | kFlagIndirect)) &&
      !(r.flags & kFlagBranch))
    return "branch detail flags without the branch flag";
  return {};
}

}  // namespace ns::trace
