// The per-instruction trace record: the one definition every part of the project reads
// (tracer, reference core, feature encoder, trace FIFO). docs/trace-format.md is its prose twin.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ns::trace {

static_assert(std::endian::native == std::endian::little,
              ".nstrace is little-endian and records are copied as bytes");

// Opcode classes, after gem5's OpClass, plus explicit control-flow and system classes (gem5 keeps
// those in instruction flags; a trace record has only the class). Values are part of the file
// format: append only, never renumber.
enum class OpClass : uint8_t {
  No_OpClass = 0,
  IntAlu,
  IntMult,
  IntDiv,
  FloatAdd,
  FloatCmp,
  FloatCvt,
  FloatMult,
  FloatMultAcc,
  FloatDiv,
  FloatMisc,
  FloatSqrt,
  SimdAdd,
  SimdAddAcc,
  SimdAlu,
  SimdCmp,
  SimdCvt,
  SimdMisc,
  SimdMult,
  SimdMultAcc,
  SimdShift,
  SimdShiftAcc,
  SimdDiv,
  SimdSqrt,
  SimdFloatAdd,
  SimdFloatAlu,
  SimdFloatCmp,
  SimdFloatCvt,
  SimdFloatDiv,
  SimdFloatMisc,
  SimdFloatMult,
  SimdFloatMultAcc,
  SimdFloatSqrt,
  MemRead,
  MemWrite,
  FloatMemRead,
  FloatMemWrite,
  BranchDirect,    // unconditional direct jump
  BranchCond,      // conditional direct branch
  BranchIndirect,  // indirect jump (register or memory target)
  CallDirect,
  CallIndirect,
  Return,
  Nop,
  Syscall,
  Serializing,  // fences, cpuid, rdtsc, pause, ...: drain the pipeline in the reference core
  kCount
};
inline constexpr int kOpClassCount = static_cast<int>(OpClass::kCount);

std::string_view opclass_name(OpClass c);
std::optional<OpClass> parse_opclass(std::string_view name);
bool is_branch_class(OpClass c);
bool is_float_or_simd_class(OpClass c);

// Register classes. The index space of each class is 0..31.
enum class RegClass : uint8_t {
  None = 0,
  Int = 1,      // general-purpose registers (x86-64: rax..r15 = 0..15, in encoding order)
  Vec = 2,      // vector/FP registers (xmm/ymm/zmm 0..31)
  Flags = 3,    // condition flags (index 0)
  X87 = 4,      // x87 stack registers st0..st7
  Mask = 5,     // AVX-512 mask registers k0..k7
  Segment = 6,  // segment registers (fs, gs bases used for TLS)
  Misc = 7,     // other architectural state (mxcsr, ...)
  kCount
};
inline constexpr int kRegClassCount = static_cast<int>(RegClass::kCount);
inline constexpr int kRegIndexCount = 32;
std::string_view regclass_name(RegClass c);

struct RegRef {
  uint8_t cls = 0;  // RegClass
  uint8_t idx = 0;
  constexpr bool valid() const { return cls != 0; }
  constexpr RegClass reg_class() const { return static_cast<RegClass>(cls); }
  friend constexpr bool operator==(RegRef, RegRef) = default;
};

// Record flag bits.
enum RecordFlag : uint16_t {
  kFlagBranch = 1u << 0,       // any control transfer (branch, jump, call, return)
  kFlagConditional = 1u << 1,  // conditional branch
  kFlagTaken = 1u << 2,        // control transfer taken: next_pc != pc + inst_len
  kFlagCall = 1u << 3,
  kFlagReturn = 1u << 4,
  kFlagIndirect = 1u << 5,  // target from a register or memory
  kFlagLoad = 1u << 6,      // reads memory (mem_addr is the first read unless kFlagStore only)
  kFlagStore = 1u << 7,     // writes memory
  kFlagWarmup = 1u << 8,    // warm-up record: updates caches/predictors, gets no label
  kFlagSerializing = 1u << 9,
  kFlagAtomic = 1u << 10,   // locked read-modify-write
  kFlagsDefined = (1u << 11) - 1,
};

// One retired instruction: 40 bytes, fixed layout, little-endian.
//   src1/src2/dst are the three register operands the model sees (the paper's features);
//   src3/dst2 carry one more source and destination for the reference core's dependences
//   (e.g. flags read by adc/cmov, rdx written by mul). The mapping rule from x86 operands is in
//   docs/trace-format.md.
struct Record {
  uint64_t pc = 0;
  uint64_t next_pc = 0;   // address of the next retired instruction of this thread
  uint64_t mem_addr = 0;  // first data address accessed; 0 with mem_size 0 = no access
  uint16_t mem_size = 0;  // bytes of that access (0 = none)
  uint16_t flags = 0;     // RecordFlag bits
  uint8_t opclass = 0;    // OpClass
  uint8_t inst_len = 0;   // encoded length in bytes
  RegRef src1, src2, dst, src3, dst2;

  constexpr OpClass op() const { return static_cast<OpClass>(opclass); }
  constexpr bool has(RecordFlag f) const { return (flags & f) != 0; }
  constexpr bool is_load() const { return has(kFlagLoad); }
  constexpr bool is_store() const { return has(kFlagStore); }
  constexpr bool is_branch() const { return has(kFlagBranch); }
  constexpr bool is_warmup() const { return has(kFlagWarmup); }
  friend constexpr bool operator==(const Record&, const Record&) = default;
};
static_assert(sizeof(Record) == 40, "record layout is part of the file format");
static_assert(offsetof(Record, mem_size) == 24 && offsetof(Record, opclass) == 28 &&
              offsetof(Record, src1) == 30 && offsetof(Record, dst2) == 38);

// Returns an empty string if the record is well formed, else what is wrong with it.
std::string_view validate_record(const Record& r);

}  // namespace ns::trace
