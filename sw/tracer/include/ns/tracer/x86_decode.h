// Static decoding of x86-64 instructions into trace-record templates (docs/trace-format.md,
// "Mapping x86-64 instructions to records"). Both tracers use it: the QEMU plugin decodes each
// instruction once at translation time, the ptrace tracer once per distinct PC. What varies per
// execution (next_pc, taken, the memory address and the load/store flags) is filled in by
// finish_record() and, on the ptrace path, apply_memory().
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ns/trace/record.h"

namespace ns::tracer {

// Register values the ptrace tracer reads, enough to compute memory addresses.
struct X86Regs {
  std::array<uint64_t, 16> gpr{};  // rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (encoding order)
  uint64_t rip = 0;
  uint64_t fs_base = 0;
  uint64_t gs_base = 0;
};

inline constexpr uint8_t kNoReg = 0xff;
inline constexpr uint8_t kRipReg = 16;  // base register of rip-relative operands

// One data access of an instruction, in the order QEMU performs them.
struct MemAccess {
  enum class Kind : uint8_t {
    Operand,  // explicit operand: seg:[base + index*scale + disp]
    Push,     // store at rsp - size (push, call)
    Pop,      // load at rsp (pop, ret)
    Leave,    // load at rbp
  };
  Kind kind = Kind::Operand;
  bool write = false;       // else a read
  bool bit_offset = false;  // bt/bts/btr/btc with a register bit offset (adds it to the address)
  bool addr32 = false;      // 0x67 prefix: 32-bit address arithmetic
  bool index8 = false;      // xlat: the index is al
  uint8_t base = kNoReg;    // 0..15, kRipReg or kNoReg
  uint8_t index = kNoReg;
  uint8_t scale = 1;
  uint8_t segment = 0;      // 0 none, 1 fs, 2 gs
  uint8_t bit_reg = kNoReg;  // register holding the bit offset (bit_offset)
  uint16_t size = 0;        // bytes
  int64_t disp = 0;
};

// Everything the tracers need about one static instruction.
struct InsnInfo {
  // Static part of the record: pc, inst_len, opclass, the five register fields and the flags
  // branch/conditional/call/return/indirect/serializing/atomic. next_pc, taken, mem_addr,
  // mem_size and load/store are per execution.
  trace::Record rec;
  std::array<MemAccess, 3> access{};
  uint8_t access_count = 0;
  uint8_t recorded = 0;     // index into access of the access a record reports (first read, else
                            // first write); meaningful when access_count > 0
  uint16_t mem_size = 0;    // size of the recorded access (0: none)
  bool rep = false;         // rep-prefixed string instruction: no access when rcx == 0
  bool helper_memory = false;  // QEMU 7.2 accesses its memory from helpers (locked operations,
                               // x87 memory operands, xsave/fxsave, cmpxchg16b, masked moves,
                               // gathers, far transfers); see the plugin
  bool loop_closing = false;  // can close a loop: a backward direct jump or call, an indirect
                              // jump or call (not a return), a system call
  bool decoded = true;      // false: Capstone does not know the instruction (No_OpClass, no regs)
};

class X86Decoder {
 public:
  X86Decoder();
  ~X86Decoder();
  X86Decoder(const X86Decoder&) = delete;
  X86Decoder& operator=(const X86Decoder&) = delete;

  // Decodes the instruction at pc from bytes (which may extend past it). Returns nullopt when the
  // bytes do not start with a complete instruction Capstone can decode.
  std::optional<InsnInfo> decode(uint64_t pc, std::span<const uint8_t> bytes) const;

  // A template for an instruction the tracer saw execute but Capstone cannot decode: No_OpClass,
  // no registers, length as given.
  static InsnInfo unknown(uint64_t pc, uint8_t length);

  // Capstone's text for the instruction at pc ("mnemonic operands"), for messages and tests.
  std::string disassemble(uint64_t pc, std::span<const uint8_t> bytes) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A quick look at the bytes, without decoding: false only if the instruction is certainly not
// one with InsnInfo::helper_memory (lets the plugin skip decoding most instructions while it
// only counts).
bool maybe_helper_memory(std::span<const uint8_t> bytes);

// Per-execution completion shared by both tracers: sets next_pc and, for branches, the taken
// flag (unconditional transfers are always taken; a conditional one when next_pc is not the
// fall-through). next_pc is 0 for the traced thread's last instruction.
inline void finish_record(trace::Record& r, uint64_t next_pc) {
  r.next_pc = next_pc;
  if ((r.flags & trace::kFlagBranch) &&
      (!(r.flags & trace::kFlagConditional) || next_pc != r.pc + r.inst_len))
    r.flags |= trace::kFlagTaken;
}

// ptrace path: the address of access a, computed from register values before the instruction.
uint64_t access_address(const InsnInfo& info, const MemAccess& a, const X86Regs& regs);

// ptrace path: fills mem_addr, mem_size and the load/store flags of r from the decoded accesses
// and the register values before the instruction executes.
void apply_memory(const InsnInfo& info, const X86Regs& regs, trace::Record& r);

// QEMU path: merges one memory access reported by QEMU into r (first read wins, else first
// write; the size of an explicit operand comes from the decoder, since QEMU splits wide vector
// accesses).
inline void add_access(trace::Record& r, uint16_t static_size, uint64_t addr, unsigned size,
                       bool store) {
  if (store) {
    if (!(r.flags & (trace::kFlagLoad | trace::kFlagStore))) {
      r.mem_addr = addr;
      r.mem_size = static_cast<uint16_t>(static_size ? static_size : size);
    }
    r.flags |= trace::kFlagStore;
  } else {
    if (!(r.flags & trace::kFlagLoad)) {
      r.mem_addr = addr;
      r.mem_size = static_cast<uint16_t>(static_size ? static_size : size);
    }
    r.flags |= trace::kFlagLoad;
  }
}

}  // namespace ns::tracer
