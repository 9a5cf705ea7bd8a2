// The x86-64 mnemonic table: Capstone instruction name -> opcode class family
// (docs/trace-format.md, "Mapping x86-64 instructions to records").
#pragma once

#include <string_view>

#include "ns/trace/record.h"

namespace ns::tracer::detail {

// What kind of data move an instruction is: pure moves change class when they touch memory
// (MemRead/MemWrite, or FloatMemRead/FloatMemWrite for vector and x87 data).
enum class Move : unsigned char { No, Int, Vec };

enum class Special : unsigned char {
  None,
  Jump,        // jmp: direct or indirect by operand
  CondBranch,  // jcc, jrcxz, loop*
  Call,
  Return,
  Syscall,
  StringOp,  // movs/stos/lods/cmps/scas/ins/outs (rep-able; DF is not a data dependence)
  Push,
  Pop,
  Leave,
  Xlat,
  BitTest,      // bt/bts/btr/btc: a register bit offset moves the memory address
  Nop,          // no registers, no memory (nop, endbr, prefetch hints)
  Cmpxchg,      // reads and writes rax, writes flags (Capstone 4 omits these)
  Xchg,         // xchg with memory is locked
};

struct MnemonicClass {
  trace::OpClass op = trace::OpClass::IntAlu;
  Move move = Move::No;
  Special special = Special::None;
  bool serializing = false;
  bool zero_idiom = false;  // same-register form breaks dependences (xor, sub, pxor, ...)
};

// Classifies a Capstone instruction name. vector: the instruction has a vector, mask or MMX
// operand or belongs to an SSE/AVX/MMX group (resolves movsd/cmpsd: string or SSE).
// x87: belongs to Capstone's FPU group.
MnemonicClass classify_mnemonic(std::string_view name, bool vector, bool x87);

}  // namespace ns::tracer::detail
