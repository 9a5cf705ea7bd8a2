#include "ns/tracer/x86_decode.h"

#include <capstone/capstone.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "x86_classes.h"

namespace ns::tracer {

using trace::OpClass;
using trace::RecordFlag;
using trace::RegClass;
using trace::RegRef;
using detail::Move;
using detail::Special;

namespace {

constexpr uint64_t kCondFlagsModified =
    X86_EFLAGS_MODIFY_AF | X86_EFLAGS_MODIFY_CF | X86_EFLAGS_MODIFY_SF | X86_EFLAGS_MODIFY_ZF |
    X86_EFLAGS_MODIFY_PF | X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_RESET_CF |
    X86_EFLAGS_RESET_SF | X86_EFLAGS_RESET_AF | X86_EFLAGS_RESET_PF | X86_EFLAGS_RESET_ZF |
    X86_EFLAGS_SET_CF | X86_EFLAGS_SET_OF | X86_EFLAGS_SET_SF | X86_EFLAGS_SET_ZF |
    X86_EFLAGS_SET_AF | X86_EFLAGS_SET_PF | X86_EFLAGS_UNDEFINED_OF | X86_EFLAGS_UNDEFINED_SF |
    X86_EFLAGS_UNDEFINED_ZF | X86_EFLAGS_UNDEFINED_PF | X86_EFLAGS_UNDEFINED_AF |
    X86_EFLAGS_UNDEFINED_CF;
constexpr uint64_t kCondFlagsTested = X86_EFLAGS_TEST_OF | X86_EFLAGS_TEST_SF |
                                      X86_EFLAGS_TEST_ZF | X86_EFLAGS_TEST_PF |
                                      X86_EFLAGS_TEST_CF | X86_EFLAGS_TEST_AF;

constexpr RegRef reg(RegClass c, int i) {
  return RegRef{static_cast<uint8_t>(c), static_cast<uint8_t>(i)};
}
constexpr RegRef kFlags = reg(RegClass::Flags, 0);
constexpr RegRef gpr(int i) { return reg(RegClass::Int, i); }
enum Gpr { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11 };

// Architectural register of a Capstone register name (sub-registers map to their full register;
// rip maps to none: it is not a data dependence).
RegRef map_register_name(std::string_view n) {
  static constexpr std::string_view kGpr[16][5] = {
      {"rax", "eax", "ax", "al", "ah"}, {"rcx", "ecx", "cx", "cl", "ch"},
      {"rdx", "edx", "dx", "dl", "dh"}, {"rbx", "ebx", "bx", "bl", "bh"},
      {"rsp", "esp", "sp", "spl", ""},  {"rbp", "ebp", "bp", "bpl", ""},
      {"rsi", "esi", "si", "sil", ""},  {"rdi", "edi", "di", "dil", ""},
      {"r8", "r8d", "r8w", "r8b", ""},  {"r9", "r9d", "r9w", "r9b", ""},
      {"r10", "r10d", "r10w", "r10b", ""}, {"r11", "r11d", "r11w", "r11b", ""},
      {"r12", "r12d", "r12w", "r12b", ""}, {"r13", "r13d", "r13w", "r13b", ""},
      {"r14", "r14d", "r14w", "r14b", ""}, {"r15", "r15d", "r15w", "r15b", ""}};
  for (int i = 0; i < 16; ++i)
    for (std::string_view s : kGpr[i])
      if (!s.empty() && s == n) return gpr(i);
  auto numbered = [&](std::string_view prefix, int& idx) {
    if (n.substr(0, prefix.size()) != prefix || n.size() == prefix.size()) return false;
    idx = 0;
    for (char ch : n.substr(prefix.size())) {
      if (ch < '0' || ch > '9') return false;
      idx = idx * 10 + (ch - '0');
    }
    return idx < trace::kRegIndexCount;
  };
  int i = 0;
  if (numbered("xmm", i) || numbered("ymm", i) || numbered("zmm", i)) return reg(RegClass::Vec, i);
  if (numbered("k", i) && i < 8) return reg(RegClass::Mask, i);
  if (numbered("mm", i) && i < 8) return reg(RegClass::X87, i);  // MMX aliases the x87 stack
  if (n.size() == 5 && n.substr(0, 3) == "st(" && n[3] >= '0' && n[3] <= '7')
    return reg(RegClass::X87, n[3] - '0');
  static constexpr std::string_view kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
  for (int s = 0; s < 6; ++s)
    if (n == kSeg[s]) return reg(RegClass::Segment, s);
  if (n == "rflags" || n == "eflags" || n == "flags") return kFlags;
  if (n == "mxcsr") return reg(RegClass::Misc, 0);
  if (n == "fpcw") return reg(RegClass::Misc, 2);
  // rip is not a data dependence; the x87 status word changes with nearly every x87 instruction.
  if (n == "rip" || n == "eip" || n == "ip" || n == "fpsw" || n.empty()) return {};
  return reg(RegClass::Misc, 3);  // control, debug, bound registers and the like
}

// Instructions whose memory operand is a store, which Capstone 4 marks as a read.
bool stores_by_name(std::string_view n) {
  for (std::string_view p : {"fst", "fist", "fbstp", "fnst", "fnsave", "fsave", "fxsave", "xsave",
                             "stmxcsr", "vstmxcsr"})
    if (n.substr(0, p.size()) == p) return true;
  return false;
}

// An ordered set of at most a few registers.
class RegList {
 public:
  void add(RegRef r) {
    if (!r.valid() || n_ == regs_.size()) return;
    for (size_t i = 0; i < n_; ++i)
      if (regs_[i] == r) return;
    regs_[n_++] = r;
  }
  RegRef operator[](size_t i) const { return i < n_ ? regs_[i] : RegRef{}; }
  void clear() { n_ = 0; }

 private:
  std::array<RegRef, 8> regs_{};
  size_t n_ = 0;
};

}  // namespace

struct X86Decoder::Impl {
  csh cs = 0;
  cs_insn* insn = nullptr;
  std::vector<RegRef> regs;     // Capstone register id -> architectural register
  std::vector<uint8_t> addr;    // Capstone register id -> GPR index, kRipReg or kNoReg
  std::vector<uint8_t> seg;     // Capstone register id -> 0 none, 1 fs, 2 gs
  std::vector<bool> vector_reg;  // xmm/ymm/zmm, AVX-512 mask and MMX registers

  Impl() {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
      throw std::runtime_error("Capstone: cannot open an x86-64 disassembler");
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    insn = cs_malloc(cs);
    regs.resize(X86_REG_ENDING);
    addr.assign(X86_REG_ENDING, kNoReg);
    seg.assign(X86_REG_ENDING, 0);
    vector_reg.assign(X86_REG_ENDING, false);
    for (int r = 1; r < X86_REG_ENDING; ++r) {
      const char* name = cs_reg_name(cs, static_cast<unsigned>(r));
      const std::string_view n = name ? name : "";
      regs[r] = map_register_name(n);
      if (regs[r].reg_class() == RegClass::Int &&
          (n[0] == 'r' || n[0] == 'e' || n == "ax" || n == "bx" || n == "cx" || n == "dx"))
        addr[r] = regs[r].idx;
      if (n == "rip" || n == "eip") addr[r] = kRipReg;
      vector_reg[r] = regs[r].reg_class() == RegClass::Vec ||
                      regs[r].reg_class() == RegClass::Mask || n.substr(0, 2) == "mm";
      if (n == "fs") seg[r] = 1;
      if (n == "gs") seg[r] = 2;
    }
  }
  ~Impl() {
    if (insn) cs_free(insn, 1);
    if (cs) cs_close(&cs);
  }

  RegRef map(unsigned r) const { return r < regs.size() ? regs[r] : RegRef{}; }
};

X86Decoder::X86Decoder() : impl_(std::make_unique<Impl>()) {}
X86Decoder::~X86Decoder() = default;

InsnInfo X86Decoder::unknown(uint64_t pc, uint8_t length) {
  InsnInfo info;
  info.rec.pc = pc;
  info.rec.inst_len = length;
  info.rec.opclass = static_cast<uint8_t>(OpClass::No_OpClass);
  info.decoded = false;
  return info;
}

std::string X86Decoder::disassemble(uint64_t pc, std::span<const uint8_t> bytes) const {
  const uint8_t* code = bytes.data();
  size_t size = bytes.size();
  uint64_t address = pc;
  if (!cs_disasm_iter(impl_->cs, &code, &size, &address, impl_->insn)) return "(bad)";
  std::string s = impl_->insn->mnemonic;
  if (impl_->insn->op_str[0]) s += std::string(" ") + impl_->insn->op_str;
  return s;
}

std::optional<InsnInfo> X86Decoder::decode(uint64_t pc, std::span<const uint8_t> bytes) const {
  Impl& im = *impl_;
  const uint8_t* code = bytes.data();
  size_t size = bytes.size();
  uint64_t address = pc;
  if (!cs_disasm_iter(im.cs, &code, &size, &address, im.insn)) return std::nullopt;
  const cs_insn& in = *im.insn;
  const cs_x86& x = in.detail->x86;
  const std::string_view name = cs_insn_name(im.cs, in.id);

  bool vector = false, x87 = false;
  for (uint8_t g = 0; g < in.detail->groups_count; ++g)
    x87 |= in.detail->groups[g] == X86_GRP_FPU;
  if (!name.empty() && name[0] == 'f' && name != "femms") x87 = true;
  bool has_mem = false;
  for (uint8_t i = 0; i < x.op_count; ++i) {
    const cs_x86_op& op = x.operands[i];
    if (op.type == X86_OP_REG) vector |= im.vector_reg[op.reg];
    has_mem |= op.type == X86_OP_MEM;
  }
  if (name == "emms") vector = true;
  const detail::MnemonicClass mc =
      detail::classify_mnemonic(name, vector, x87 && !vector);
  const bool lea = name == "lea";

  InsnInfo info;
  trace::Record& r = info.rec;
  r.pc = pc;
  r.inst_len = in.size;
  OpClass op = mc.op;
  uint16_t flags = 0;

  // ---- memory accesses, in the order QEMU performs them (reads, then writes) ----------------
  auto operand_access = [&](const cs_x86_op& o, bool write) {
    MemAccess a;
    a.kind = MemAccess::Kind::Operand;
    a.write = write;
    a.base = o.mem.base ? im.addr[o.mem.base] : kNoReg;
    a.index = o.mem.index ? im.addr[o.mem.index] : kNoReg;
    a.scale = static_cast<uint8_t>(o.mem.scale);
    a.segment = o.mem.segment ? im.seg[o.mem.segment] : 0;
    a.disp = o.mem.disp;
    a.size = name.substr(0, 6) == "fxsave" || name.substr(0, 7) == "fxrstor" ? 512 : o.size;
    a.addr32 = x.prefix[3] == 0x67;
    return a;
  };
  auto add_access = [&](const MemAccess& a) {
    if (info.access_count < info.access.size()) info.access[info.access_count++] = a;
  };
  auto stack_access = [&](MemAccess::Kind kind, bool write, uint16_t sz) {
    MemAccess a;
    a.kind = kind;
    a.write = write;
    a.size = sz;
    add_access(a);
  };
  const bool no_memory = mc.special == Special::Nop || lea;
  if (!no_memory) {
    // Explicit operands: which are read, which written (Capstone 4 under-reports the locked
    // read-modify-writes).
    std::array<int, 4> reads{}, writes{};
    int nr = 0, nw = 0;
    for (uint8_t i = 0; i < x.op_count; ++i) {
      const cs_x86_op& o = x.operands[i];
      if (o.type != X86_OP_MEM) continue;
      bool rd = o.access & CS_AC_READ, wr = o.access & CS_AC_WRITE;
      if (mc.special == Special::Cmpxchg || mc.special == Special::Xchg || name == "xadd")
        rd = wr = true;
      if (stores_by_name(name)) rd = false, wr = true;  // Capstone 4 marks them as reads
      if (!rd && !wr) rd = true;
      if (rd && nr < 4) reads[nr++] = i;
      if (wr && nw < 4) writes[nw++] = i;
    }
    // cmps reads [rdi] before [rsi] in QEMU; Capstone lists [rsi] first.
    if (mc.special == Special::StringOp && name.substr(0, 4) == "cmps" && nr == 2)
      std::swap(reads[0], reads[1]);
    const uint16_t stack_size = [&]() -> uint16_t {
      if (x.op_count && x.operands[0].type == X86_OP_REG && x.operands[0].size == 2) return 2;
      return x.prefix[2] == 0x66 && (mc.special == Special::Push || mc.special == Special::Pop)
                 ? 2
                 : 8;
    }();
    switch (mc.special) {
      case Special::Push:  // push r/imm/[m], pushf, enter: read the source, then store
        for (int i = 0; i < nr; ++i) add_access(operand_access(x.operands[reads[i]], false));
        stack_access(MemAccess::Kind::Push, true, stack_size);
        break;
      case Special::Call:
        for (int i = 0; i < nr; ++i) add_access(operand_access(x.operands[reads[i]], false));
        stack_access(MemAccess::Kind::Push, true, 8);
        break;
      case Special::Pop:  // pop r/[m], popf: load from the stack, then store to [m]
        stack_access(MemAccess::Kind::Pop, false, stack_size);
        for (int i = 0; i < nw; ++i) add_access(operand_access(x.operands[writes[i]], true));
        break;
      case Special::Return:
        stack_access(MemAccess::Kind::Pop, false, 8);
        break;
      case Special::Leave:
        stack_access(MemAccess::Kind::Leave, false, 8);
        break;
      case Special::Xlat: {
        MemAccess a;
        a.base = RBX;
        a.index = RAX;
        a.index8 = true;
        a.size = 1;
        add_access(a);
        break;
      }
      default:
        for (int i = 0; i < nr; ++i) add_access(operand_access(x.operands[reads[i]], false));
        for (int i = 0; i < nw; ++i) add_access(operand_access(x.operands[writes[i]], true));
        break;
    }
    if (mc.special == Special::BitTest && x.op_count == 2 && x.operands[0].type == X86_OP_MEM &&
        x.operands[1].type == X86_OP_REG) {
      for (uint8_t i = 0; i < info.access_count; ++i) {
        info.access[i].bit_offset = true;
        info.access[i].bit_reg = im.addr[x.operands[1].reg];
      }
    }
  }
  bool reads_mem = false, writes_mem = false;
  for (uint8_t i = 0; i < info.access_count; ++i) {
    (info.access[i].write ? writes_mem : reads_mem) = true;
  }
  for (uint8_t i = 0; i < info.access_count; ++i) {
    if (!info.access[i].write) {
      info.recorded = i;
      break;
    }
  }
  if (info.access_count) info.mem_size = info.access[info.recorded].size;
  info.rep = mc.special == Special::StringOp && (x.prefix[0] == 0xf3 || x.prefix[0] == 0xf2);
  // Instructions QEMU 7.2 implements with helpers that access guest memory (see the plugin).
  const bool far_or_frame = name == "enter" || name == "bound" || name == "lcall" ||
                            name == "ljmp" || name == "retf" || name == "retfq" ||
                            name.substr(0, 4) == "iret";
  info.helper_memory =
      far_or_frame ||
      (has_mem && !no_memory &&
       (x.prefix[0] == 0xf0 || mc.special == Special::Xchg || mc.special == Special::Cmpxchg ||
        x87 || name.find("xsave") != name.npos || name.find("xrstor") != name.npos ||
        name.find("maskmov") != name.npos || name.find("gather") != name.npos ||
        name.find("scatter") != name.npos));

  // ---- opcode class and control-flow flags --------------------------------------------------
  const bool target_imm = x.op_count >= 1 && x.operands[0].type == X86_OP_IMM;
  switch (mc.special) {
    case Special::Jump:
      flags |= trace::kFlagBranch;
      if (!target_imm) {
        op = OpClass::BranchIndirect;
        flags |= trace::kFlagIndirect;
      }
      break;
    case Special::CondBranch:
      flags |= trace::kFlagBranch | trace::kFlagConditional;
      break;
    case Special::Call:
      flags |= trace::kFlagBranch | trace::kFlagCall;
      if (!target_imm) {
        op = OpClass::CallIndirect;
        flags |= trace::kFlagIndirect;
      }
      break;
    case Special::Return:
      flags |= trace::kFlagBranch | trace::kFlagReturn | trace::kFlagIndirect;
      break;
    default:
      break;
  }
  switch (mc.special) {
    case Special::Jump:
    case Special::CondBranch:
    case Special::Call:
      info.loop_closing = !target_imm || static_cast<uint64_t>(x.operands[0].imm) <= pc;
      break;
    case Special::Syscall:
      info.loop_closing = true;
      break;
    default:
      break;
  }
  if (mc.move != Move::No && (reads_mem || writes_mem)) {
    if (writes_mem)
      op = mc.move == Move::Vec ? OpClass::FloatMemWrite : OpClass::MemWrite;
    else
      op = mc.move == Move::Vec ? OpClass::FloatMemRead : OpClass::MemRead;
  }
  if (mc.serializing) flags |= trace::kFlagSerializing;
  if (x.prefix[0] == 0xf0 || (mc.special == Special::Xchg && has_mem)) flags |= trace::kFlagAtomic;
  r.opclass = static_cast<uint8_t>(op);
  r.flags = flags;

  // ---- registers ----------------------------------------------------------------------------
  if (mc.special == Special::Nop) return info;
  cs_regs rd_list, wr_list;
  uint8_t n_rd = 0, n_wr = 0;
  if (cs_regs_access(im.cs, &in, rd_list, &n_rd, wr_list, &n_wr) != CS_ERR_OK) n_rd = n_wr = 0;
  RegList src, dst;
  // Explicit register operands in operand order (Capstone's access bits; an operand it leaves
  // unmarked counts as written when it is the first operand, else as read).
  std::array<RegRef, 4> read_ops{};
  int n_read_ops = 0;
  for (uint8_t i = 0; i < x.op_count; ++i) {
    const cs_x86_op& o = x.operands[i];
    if (o.type != X86_OP_REG) continue;
    const RegRef rr = im.map(o.reg);
    uint8_t ac = o.access;
    if (ac == 0) ac = i == 0 ? CS_AC_WRITE : CS_AC_READ;
    if (ac & CS_AC_READ) {
      src.add(rr);
      if (n_read_ops < 4) read_ops[n_read_ops++] = rr;
    }
    if (ac & CS_AC_WRITE) dst.add(rr);
  }
  // Address registers of memory operands (lea too: they are its sources).
  for (uint8_t i = 0; i < x.op_count; ++i) {
    const cs_x86_op& o = x.operands[i];
    if (o.type != X86_OP_MEM) continue;
    if (o.mem.base) src.add(im.map(o.mem.base));
    if (o.mem.index) src.add(im.map(o.mem.index));
    if (o.mem.segment && im.seg[o.mem.segment]) src.add(im.map(o.mem.segment));
  }
  const bool zero_idiom = mc.zero_idiom && !has_mem && n_read_ops >= 2 &&
                          std::all_of(read_ops.begin(), read_ops.begin() + n_read_ops,
                                      [&](RegRef q) { return q == read_ops[0]; });
  if (zero_idiom) src.clear();

  // Implicit registers, then the flags.
  const bool integer = !vector && !x87;
  bool flags_read = false, flags_written = false;
  if (mc.special == Special::Syscall) {
    // Capstone 4 lists nothing: the kernel reads the number and arguments, returns in rax and
    // clobbers rcx and r11.
    src.add(gpr(RAX));
    src.add(gpr(RDI));
    src.add(gpr(RSI));
    dst.add(gpr(RAX));
    dst.add(gpr(RCX));
  } else {
    if (mc.special == Special::Cmpxchg) {
      src.add(gpr(RAX));
      dst.add(gpr(RAX));
    } else if (mc.special == Special::Xlat) {
      src.add(gpr(RBX));
      src.add(gpr(RAX));
      dst.add(gpr(RAX));
    } else if (name == "enter") {
      src.add(gpr(RBP));
      src.add(gpr(RSP));
      dst.add(gpr(RSP));
      dst.add(gpr(RBP));
    }
    if (!zero_idiom)
      for (uint8_t i = 0; i < n_rd; ++i) {
        const RegRef rr = im.map(rd_list[i]);
        if (rr == kFlags)
          flags_read |= mc.special != Special::StringOp;
        else
          src.add(rr);
      }
    for (uint8_t i = 0; i < n_wr; ++i) {
      const RegRef rr = im.map(wr_list[i]);
      if (rr == kFlags)
        flags_written |= !integer || name == "popf" || name == "popfq" || name == "popfd";
      else
        dst.add(rr);
    }
    if (integer) {
      flags_read |= (x.eflags & kCondFlagsTested) != 0;
      flags_written |= (x.eflags & kCondFlagsModified) != 0;
    }
  }
  if (flags_read) src.add(kFlags);
  if (flags_written) dst.add(kFlags);
  r.src1 = src[0];
  r.src2 = src[1];
  r.src3 = src[2];
  r.dst = dst[0];
  r.dst2 = dst[1];
  return info;
}

bool maybe_helper_memory(std::span<const uint8_t> b) {
  size_t i = 0;
  for (; i < b.size(); ++i) {
    const uint8_t p = b[i];
    if (p == 0xf0) return true;  // lock
    const bool legacy = p == 0x66 || p == 0x67 || p == 0xf2 || p == 0xf3 || p == 0x2e ||
                        p == 0x3e || p == 0x26 || p == 0x36 || p == 0x64 || p == 0x65;
    if (!legacy && (p & 0xf0) != 0x40) break;  // not a prefix, not REX
  }
  if (i >= b.size()) return true;
  const uint8_t op = b[i];
  if (op == 0xc4 || op == 0xc5 || op == 0x62) return true;  // VEX/EVEX: gathers, masked moves
  if (op >= 0xd8 && op <= 0xdf) return true;                // x87
  if (op == 0x86 || op == 0x87) return true;                // xchg
  if (op == 0xc8 || op == 0xca || op == 0xcb || op == 0xcf || op == 0x9a || op == 0xea)
    return true;                                            // enter, far returns and transfers
  if (op == 0xff) return i + 1 >= b.size() || ((b[i + 1] >> 3) & 7) == 3 || ((b[i + 1] >> 3) & 7) == 5;
  if (op != 0x0f) return false;
  if (i + 1 >= b.size()) return true;
  const uint8_t op2 = b[i + 1];
  return op2 == 0xae || op2 == 0xc7 || op2 == 0xb0 || op2 == 0xb1 || op2 == 0xf7 ||
         op2 == 0x38 || op2 == 0x3a;  // xsave/fxsave, cmpxchg8b/16b, cmpxchg, maskmov, 3-byte maps
}

uint64_t access_address(const InsnInfo& info, const MemAccess& a, const X86Regs& regs) {
  switch (a.kind) {
    case MemAccess::Kind::Push:
      return regs.gpr[RSP] - a.size;
    case MemAccess::Kind::Pop:
      return regs.gpr[RSP];
    case MemAccess::Kind::Leave:
      return regs.gpr[RBP];
    case MemAccess::Kind::Operand:
      break;
  }
  uint64_t addr = static_cast<uint64_t>(a.disp);
  if (a.base == kRipReg)
    addr += info.rec.pc + info.rec.inst_len;
  else if (a.base < 16)
    addr += regs.gpr[a.base];
  if (a.index < 16) addr += (a.index8 ? regs.gpr[a.index] & 0xff : regs.gpr[a.index]) * a.scale;
  if (a.bit_offset && a.bit_reg < 16 && a.size) {
    // bt/bts/btr/btc [m], r: the signed bit offset selects the operand-sized word.
    int64_t off = static_cast<int64_t>(regs.gpr[a.bit_reg]);
    if (a.size == 4) off = static_cast<int32_t>(off);
    if (a.size == 2) off = static_cast<int16_t>(off);
    const int log2size = a.size == 8 ? 3 : a.size == 4 ? 2 : 1;
    addr += static_cast<uint64_t>((off >> (3 + log2size)) * a.size);
  }
  if (a.addr32) addr &= 0xffffffffu;
  if (a.segment == 1) addr += regs.fs_base;
  if (a.segment == 2) addr += regs.gs_base;
  return addr;
}

void apply_memory(const InsnInfo& info, const X86Regs& regs, trace::Record& r) {
  if (info.access_count == 0) return;
  if (info.rep && regs.gpr[RCX] == 0) return;  // a rep string instruction with nothing to do
  for (uint8_t i = 0; i < info.access_count; ++i)
    r.flags |= info.access[i].write ? trace::kFlagStore : trace::kFlagLoad;
  r.mem_addr = access_address(info, info.access[info.recorded], regs);
  r.mem_size = info.mem_size;
}

}  // namespace ns::tracer
