// The x86-64 -> record mapping (docs/trace-format.md, "Mapping x86-64 instructions to records").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ns/tracer/x86_decode.h"

namespace ns::tracer {
namespace {

using trace::OpClass;
using trace::RegClass;
using trace::RegRef;

constexpr uint64_t kPc = 0x401000;

std::vector<uint8_t> bytes(const std::string& hex) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) b.push_back(std::stoi(hex.substr(i, 2), nullptr, 16));
  return b;
}

// Register by name: rax..r15, xmmN (vec), kN (mask), stN (x87), fs/gs, flags.
RegRef R(const std::string& n) {
  static const char* kGpr[] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                               "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (int i = 0; i < 16; ++i)
    if (n == kGpr[i]) return {uint8_t(RegClass::Int), uint8_t(i)};
  if (n == "flags") return {uint8_t(RegClass::Flags), 0};
  if (n == "fs") return {uint8_t(RegClass::Segment), 4};
  if (n.rfind("xmm", 0) == 0) return {uint8_t(RegClass::Vec), uint8_t(std::stoi(n.substr(3)))};
  if (n.rfind("st", 0) == 0) return {uint8_t(RegClass::X87), uint8_t(std::stoi(n.substr(2)))};
  if (n[0] == 'k') return {uint8_t(RegClass::Mask), uint8_t(std::stoi(n.substr(1)))};
  if (n.empty()) return {};
  ADD_FAILURE() << "unknown register " << n;
  return {};
}

class X86DecodeTest : public ::testing::Test {
 protected:
  InsnInfo decode(const std::string& hex) {
    const auto b = bytes(hex);
    auto info = decoder_.decode(kPc, b);
    EXPECT_TRUE(info.has_value()) << hex;
    if (!info) return {};
    EXPECT_EQ(info->rec.inst_len, b.size()) << hex;
    EXPECT_EQ(info->rec.pc, kPc);
    EXPECT_EQ(trace::validate_record(info->rec), "") << hex;
    return *info;
  }
  X86Decoder decoder_;
};

struct Case {
  const char* hex;
  const char* text;  // for failure messages
  OpClass op;
  const char* src1;
  const char* src2;
  const char* dst;
  const char* src3;
  const char* dst2;
  uint16_t flags;        // static flags
  const char* accesses;  // e.g. "R8 W8": kind/size of each access in order (P/O for push/pop)
};

std::string describe(const InsnInfo& info) {
  std::string s;
  for (uint8_t i = 0; i < info.access_count; ++i) {
    const MemAccess& a = info.access[i];
    if (!s.empty()) s += ' ';
    s += a.kind == MemAccess::Kind::Push    ? 'P'
         : a.kind == MemAccess::Kind::Pop   ? 'O'
         : a.kind == MemAccess::Kind::Leave ? 'L'
         : a.write                          ? 'W'
                                            : 'R';
    s += std::to_string(a.size);
  }
  return s;
}

constexpr uint16_t B = trace::kFlagBranch, C = trace::kFlagConditional, CALL = trace::kFlagCall,
                   RET = trace::kFlagReturn, IND = trace::kFlagIndirect,
                   SER = trace::kFlagSerializing, AT = trace::kFlagAtomic;

const Case kCases[] = {
    {"4801d8", "add rax, rbx", OpClass::IntAlu, "rax", "rbx", "rax", "", "flags", 0, ""},
    {"48030424", "add rax, [rsp]", OpClass::IntAlu, "rax", "rsp", "rax", "", "flags", 0, "R8"},
    {"48890424", "mov [rsp], rax", OpClass::MemWrite, "rax", "rsp", "", "", "", 0, "W8"},
    {"488b0424", "mov rax, [rsp]", OpClass::MemRead, "rsp", "", "rax", "", "", 0, "R8"},
    {"0fb607", "movzx eax, byte [rdi]", OpClass::MemRead, "rdi", "", "rax", "", "", 0, "R1"},
    {"488b44cc10", "mov rax, [rsp+rcx*8+16]", OpClass::MemRead, "rsp", "rcx", "rax", "", "", 0,
     "R8"},
    {"50", "push rax", OpClass::MemWrite, "rax", "rsp", "rsp", "", "", 0, "P8"},
    {"58", "pop rax", OpClass::MemRead, "rsp", "", "rax", "", "rsp", 0, "O8"},
    {"ff30", "push [rax]", OpClass::MemWrite, "rax", "rsp", "rsp", "", "", 0, "R8 P8"},
    {"8f00", "pop [rax]", OpClass::MemWrite, "rax", "rsp", "rsp", "", "", 0, "O8 W8"},
    {"c9", "leave", OpClass::MemRead, "rbp", "rsp", "rbp", "", "rsp", 0, "L8"},
    {"c8100000", "enter 16, 0", OpClass::MemWrite, "rbp", "rsp", "rsp", "", "rbp", 0, "P8"},
    {"c3", "ret", OpClass::Return, "rsp", "", "rsp", "", "", B | RET | IND, "O8"},
    {"e800000000", "call rel32", OpClass::CallDirect, "rsp", "", "rsp", "", "", B | CALL, "P8"},
    {"ffd0", "call rax", OpClass::CallIndirect, "rax", "rsp", "rsp", "", "", B | CALL | IND, "P8"},
    {"ff10", "call [rax]", OpClass::CallIndirect, "rax", "rsp", "rsp", "", "", B | CALL | IND,
     "R8 P8"},
    {"7405", "je", OpClass::BranchCond, "flags", "", "", "", "", B | C, ""},
    {"e302", "jrcxz", OpClass::BranchCond, "rcx", "", "", "", "", B | C, ""},
    {"eb05", "jmp rel8", OpClass::BranchDirect, "", "", "", "", "", B, ""},
    {"41ffe3", "jmp r11", OpClass::BranchIndirect, "r11", "", "", "", "", B | IND, ""},
    {"ff2500100000", "jmp [rip+0x1000]", OpClass::BranchIndirect, "", "", "", "", "", B | IND,
     "R8"},
    {"0f05", "syscall", OpClass::Syscall, "rax", "rdi", "rax", "rsi", "rcx", SER, ""},
    {"48f7f1", "div rcx", OpClass::IntDiv, "rcx", "rax", "rax", "rdx", "rdx", 0, ""},
    {"48f7e1", "mul rcx", OpClass::IntMult, "rcx", "rax", "rax", "", "rdx", 0, ""},
    {"480fafc1", "imul rax, rcx", OpClass::IntMult, "rax", "rcx", "rax", "", "flags", 0, ""},
    {"4811d8", "adc rax, rbx", OpClass::IntAlu, "rax", "rbx", "rax", "flags", "flags", 0, ""},
    {"0f4fc1", "cmovg eax, ecx", OpClass::IntAlu, "rax", "rcx", "rax", "flags", "", 0, ""},
    {"480f4403", "cmove rax, [rbx]", OpClass::IntAlu, "rax", "rbx", "rax", "flags", "", 0, "R8"},
    {"0f94c0", "sete al", OpClass::IntAlu, "flags", "", "rax", "", "", 0, ""},
    {"31c0", "xor eax, eax (zero idiom)", OpClass::IntAlu, "", "", "rax", "", "flags", 0, ""},
    {"29c0", "sub eax, eax (zero idiom)", OpClass::IntAlu, "", "", "rax", "", "flags", 0, ""},
    {"19c0", "sbb eax, eax", OpClass::IntAlu, "rax", "flags", "rax", "", "flags", 0, ""},
    {"488d04c8", "lea rax, [rax+rcx*8]", OpClass::IntAlu, "rax", "rcx", "rax", "", "", 0, ""},
    {"0f1f440000", "nop [rax+rax]", OpClass::Nop, "", "", "", "", "", 0, ""},
    {"f30f1efa", "endbr64", OpClass::Nop, "", "", "", "", "", 0, ""},
    {"0f1808", "prefetcht0 [rax]", OpClass::Nop, "", "", "", "", "", 0, ""},
    {"f3a4", "rep movsb", OpClass::MemWrite, "rdi", "rsi", "rdi", "rcx", "rsi", 0, "R1 W1"},
    {"48a5", "movsq", OpClass::MemWrite, "rdi", "rsi", "rdi", "", "rsi", 0, "R8 W8"},
    {"f348ab", "rep stosq", OpClass::MemWrite, "rax", "rdi", "rcx", "rcx", "rdi", 0, "W8"},
    {"a6", "cmpsb", OpClass::IntAlu, "rsi", "rdi", "rdi", "", "rsi", 0, "R1 R1"},
    {"f00fb10b", "lock cmpxchg [rbx], ecx", OpClass::IntAlu, "rcx", "rbx", "rax", "rax", "flags",
     AT, "R4 W4"},
    {"488703", "xchg [rbx], rax", OpClass::IntAlu, "rax", "rbx", "rax", "", "", AT, "R8 W8"},
    {"f048830001", "lock add [rax], 1", OpClass::IntAlu, "rax", "", "flags", "", "", AT, "R8 W8"},
    {"480fa308", "bt [rax], rcx", OpClass::IntAlu, "rcx", "rax", "flags", "", "", 0, "R8"},
    {"f3480fb8c3", "popcnt rax, rbx", OpClass::IntAlu, "rbx", "", "rax", "", "flags", 0, ""},
    {"f20f38f003", "crc32 eax, byte [rbx]", OpClass::IntMult, "rax", "rbx", "rax", "", "", 0, "R1"},
    {"d7", "xlatb", OpClass::MemRead, "rbx", "rax", "rax", "", "", 0, "R1"},
    {"64488b042528000000", "mov rax, fs:[0x28]", OpClass::MemRead, "fs", "", "rax", "", "", 0,
     "R8"},
    {"0fa2", "cpuid", OpClass::Serializing, "rax", "rcx", "rax", "", "rbx", SER, ""},
    {"0faee8", "lfence", OpClass::Serializing, "", "", "", "", "", SER, ""},
    {"0f31", "rdtsc", OpClass::Serializing, "", "", "rax", "", "rdx", SER, ""},
    {"f4", "hlt", OpClass::Serializing, "", "", "", "", "", SER, ""},
    {"0f0b", "ud2", OpClass::Serializing, "", "", "", "", "", SER, ""},
    {"0f2805aabbccdd", "movaps xmm0, [rip+d]", OpClass::FloatMemRead, "", "", "xmm0", "", "", 0,
     "R16"},
    {"0f2900", "movaps [rax], xmm0", OpClass::FloatMemWrite, "xmm0", "rax", "", "", "", 0, "W16"},
    {"f30f6f00", "movdqu xmm0, [rax]", OpClass::FloatMemRead, "rax", "", "xmm0", "", "", 0, "R16"},
    {"f30f1000", "movss xmm0, [rax]", OpClass::FloatMemRead, "rax", "", "xmm0", "", "", 0, "R4"},
    {"62f17c48100424", "vmovups zmm0, [rsp]", OpClass::FloatMemRead, "rsp", "", "xmm0", "", "", 0,
     "R64"},
    {"660fefc0", "pxor xmm0, xmm0 (zero idiom)", OpClass::SimdAlu, "", "", "xmm0", "", "", 0, ""},
    {"c5f1efc1", "vpxor xmm0, xmm1, xmm1 (zero idiom)", OpClass::SimdAlu, "", "", "xmm0", "", "",
     0, ""},
    {"c5fdfe0424", "vpaddd ymm0, ymm0, [rsp]", OpClass::SimdAdd, "xmm0", "rsp", "xmm0", "", "", 0,
     "R32"},
    {"f20f5801", "addsd xmm0, [rcx]", OpClass::FloatAdd, "xmm0", "rcx", "xmm0", "", "", 0, "R8"},
    {"f20f5ec1", "divsd xmm0, xmm1", OpClass::FloatDiv, "xmm0", "xmm1", "xmm0", "", "", 0, ""},
    {"f20f51c1", "sqrtsd xmm0, xmm1", OpClass::FloatSqrt, "xmm1", "", "xmm0", "", "", 0, ""},
    {"660f2ec1", "ucomisd xmm0, xmm1", OpClass::FloatCmp, "xmm0", "xmm1", "flags", "", "", 0, ""},
    {"0fc2c101", "cmpltps xmm0, xmm1", OpClass::SimdFloatCmp, "xmm0", "xmm1", "xmm0", "", "", 0,
     ""},
    {"660f5dc1", "minpd xmm0, xmm1", OpClass::SimdFloatCmp, "xmm0", "xmm1", "xmm0", "", "", 0, ""},
    {"c4e2f5b8c2", "vfmadd231pd ymm0, ymm1, ymm2", OpClass::SimdFloatMultAcc, "xmm0", "xmm1",
     "xmm0", "xmm2", "", 0, ""},
    {"f20f2cc0", "cvttsd2si eax, xmm0", OpClass::FloatCvt, "xmm0", "", "rax", "", "", 0, ""},
    {"f2480f2ac0", "cvtsi2sd xmm0, rax", OpClass::FloatCvt, "rax", "", "xmm0", "", "", 0, ""},
    {"660fd7c0", "pmovmskb eax, xmm0", OpClass::SimdMisc, "xmm0", "", "rax", "", "", 0, ""},
    {"660f74c1", "pcmpeqb xmm0, xmm1", OpClass::SimdCmp, "xmm0", "xmm1", "xmm0", "", "", 0, ""},
    {"660f73f003", "psllq xmm0, 3", OpClass::SimdShift, "xmm0", "", "xmm0", "", "", 0, ""},
    {"660f3800c1", "pshufb xmm0, xmm1", OpClass::SimdMisc, "xmm0", "xmm1", "xmm0", "", "", 0, ""},
    {"660f38dcca", "aesenc xmm1, xmm2", OpClass::SimdMisc, "xmm1", "xmm2", "xmm1", "", "", 0, ""},
    {"c4e27d78c1", "vpbroadcastb ymm0, xmm1", OpClass::SimdMisc, "xmm1", "", "xmm0", "", "", 0,
     ""},
    {"66480f7ec0", "movq rax, xmm0", OpClass::SimdMisc, "xmm0", "", "rax", "", "", 0, ""},
    {"c5f892c8", "kmovw k1, eax", OpClass::SimdMisc, "rax", "", "k1", "", "", 0, ""},
    {"c5f877", "vzeroupper", OpClass::SimdMisc, "", "", "xmm0", "", "xmm1", 0, ""},
    {"dd00", "fld qword [rax]", OpClass::FloatMemRead, "rax", "", "", "", "", 0, "R8"},
    {"dd18", "fstp qword [rax]", OpClass::FloatMemWrite, "rax", "", "", "", "", 0, "W8"},
    {"db18", "fistp dword [rax]", OpClass::FloatMemWrite, "rax", "", "", "", "", 0, "W4"},
    {"d938", "fnstcw [rax]", OpClass::FloatMemWrite, "rax", "", "", "", "", 0, "W2"},
    {"0fae00", "fxsave [rax]", OpClass::FloatMemWrite, "rax", "", "", "", "", 0, "W512"},
    {"0fae18", "stmxcsr [rax]", OpClass::FloatMemWrite, "rax", "", "", "", "", 0, "W4"},
    {"d8c1", "fadd st(1)", OpClass::FloatAdd, "st1", "", "", "", "", 0, ""},
    {"0fae10", "ldmxcsr [rax]", OpClass::FloatMemRead, "rax", "", "", "", "", 0, "R4"},
    {"cc", "int3", OpClass::Serializing, "", "", "", "", "", SER, ""},
};

TEST_F(X86DecodeTest, MapsInstructionsToClassesRegistersAndAccesses) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(c.text) + " [" + c.hex + "]");
    const InsnInfo info = decode(c.hex);
    const trace::Record& r = info.rec;
    EXPECT_EQ(trace::opclass_name(r.op()), trace::opclass_name(c.op));
    EXPECT_EQ(r.src1, R(c.src1));
    EXPECT_EQ(r.src2, R(c.src2));
    EXPECT_EQ(r.dst, R(c.dst));
    EXPECT_EQ(r.src3, R(c.src3));
    EXPECT_EQ(r.dst2, R(c.dst2));
    EXPECT_EQ(r.flags, c.flags);
    EXPECT_EQ(describe(info), c.accesses);
    EXPECT_EQ(r.mem_addr, 0u);
    EXPECT_EQ(r.mem_size, 0u);
    EXPECT_TRUE(info.decoded);
  }
}

TEST_F(X86DecodeTest, RecordsTheFirstReadElseTheFirstWrite) {
  EXPECT_EQ(decode("ff10").recorded, 0);      // call [rax]: the target load, not the push
  EXPECT_EQ(decode("8f00").recorded, 0);      // pop [rax]: the stack load
  EXPECT_EQ(decode("f3a4").recorded, 0);      // movsb: the load from [rsi]
  EXPECT_EQ(decode("48890424").recorded, 0);  // store only
  EXPECT_EQ(decode("50").mem_size, 8);
}

TEST_F(X86DecodeTest, MarksTransfersThatCanCloseALoop) {
  EXPECT_FALSE(decode("eb05").loop_closing);        // jmp forward
  EXPECT_TRUE(decode("ebfe").loop_closing);         // jmp to itself
  EXPECT_TRUE(decode("74f0").loop_closing);         // je backward
  EXPECT_FALSE(decode("7405").loop_closing);        // je forward
  EXPECT_FALSE(decode("e800000000").loop_closing);  // call forward
  EXPECT_TRUE(decode("e8f0ffffff").loop_closing);   // call backward
  EXPECT_TRUE(decode("ffd0").loop_closing);         // call rax
  EXPECT_TRUE(decode("41ffe3").loop_closing);       // jmp r11
  EXPECT_FALSE(decode("c3").loop_closing);          // ret: returns need no check
  EXPECT_TRUE(decode("0f05").loop_closing);         // syscall
  EXPECT_FALSE(decode("4801d8").loop_closing);
}

TEST_F(X86DecodeTest, FlagsInstructionsWhoseQemuHelpersTouchMemory) {
  EXPECT_TRUE(decode("f00fb10b").helper_memory);   // lock cmpxchg
  EXPECT_TRUE(decode("488703").helper_memory);     // xchg with memory
  EXPECT_TRUE(decode("0fae00").helper_memory);     // fxsave
  EXPECT_TRUE(decode("dd00").helper_memory);       // fld m64
  EXPECT_TRUE(decode("c8100000").helper_memory);   // enter
  EXPECT_FALSE(decode("488b0424").helper_memory);  // mov
  EXPECT_FALSE(decode("f30f6f00").helper_memory);  // movdqu
  EXPECT_FALSE(decode("4891").helper_memory);      // xchg registers
}

TEST_F(X86DecodeTest, QuickFilterNeverMissesHelperMemory) {
  int candidates = 0;
  for (const Case& c : kCases) {
    const InsnInfo info = decode(c.hex);
    const bool maybe = maybe_helper_memory(bytes(c.hex));
    if (info.helper_memory) {
      EXPECT_TRUE(maybe) << c.text;
    }
    candidates += maybe;
  }
  for (const char* hex : {"f00fc10b", "62f17c48100424", "c4e26d900488", "ff18", "660ff7c1"})
    EXPECT_TRUE(maybe_helper_memory(bytes(hex))) << hex;
  EXPECT_LT(candidates, 40) << "the filter should skip most instructions";
}

TEST_F(X86DecodeTest, RejectsIncompleteBytes) {
  for (const char* hex : {"", "48", "0f", "e8000000", "48b8112233"})
    EXPECT_FALSE(decoder_.decode(kPc, bytes(hex)).has_value()) << hex;
}

TEST_F(X86DecodeTest, UnknownTemplateHasNoRegisters) {
  const InsnInfo u = X86Decoder::unknown(kPc, 3);
  EXPECT_EQ(u.rec.op(), OpClass::No_OpClass);
  EXPECT_EQ(u.rec.inst_len, 3);
  EXPECT_FALSE(u.decoded);
  EXPECT_EQ(trace::validate_record(u.rec), "");
}

TEST_F(X86DecodeTest, DisassemblesForMessages) {
  EXPECT_EQ(decoder_.disassemble(kPc, bytes("4801d8")), "add rax, rbx");
  EXPECT_EQ(decoder_.disassemble(kPc, bytes("0f")), "(bad)");
}

X86Regs regs() {
  X86Regs r;
  for (int i = 0; i < 16; ++i) r.gpr[i] = 0x10000 * (i + 1);
  r.fs_base = 0x7000000;
  return r;
}

TEST_F(X86DecodeTest, ComputesAddressesFromRegisters) {
  X86Regs g = regs();
  auto addr = [&](const std::string& hex) {
    const InsnInfo info = decode(hex);
    trace::Record r = info.rec;
    apply_memory(info, g, r);
    EXPECT_EQ(trace::validate_record(r), "") << hex;
    return r;
  };
  // mov rax, [rsp + rcx*8 + 16]
  EXPECT_EQ(addr("488b44cc10").mem_addr, g.gpr[4] + g.gpr[1] * 8 + 16);
  EXPECT_EQ(addr("488b44cc10").mem_size, 8);
  EXPECT_EQ(addr("488b44cc10").flags, trace::kFlagLoad);
  // mov eax, [rip + 0x100]: relative to the next instruction
  EXPECT_EQ(addr("8b0500010000").mem_addr, kPc + 6 + 0x100);
  // mov rax, fs:[0x28]
  EXPECT_EQ(addr("64488b042528000000").mem_addr, g.fs_base + 0x28);
  // push rax: rsp - 8; pop rax: rsp; leave: rbp
  EXPECT_EQ(addr("50").mem_addr, g.gpr[4] - 8);
  EXPECT_EQ(addr("50").flags, trace::kFlagStore);
  EXPECT_EQ(addr("58").mem_addr, g.gpr[4]);
  EXPECT_EQ(addr("c9").mem_addr, g.gpr[5]);
  // call [rax]: load of the target (recorded) and store of the return address
  EXPECT_EQ(addr("ff10").mem_addr, g.gpr[0]);
  EXPECT_EQ(addr("ff10").flags, trace::kFlagBranch | trace::kFlagCall | trace::kFlagIndirect |
                                    trace::kFlagLoad | trace::kFlagStore);
  // movsb: [rsi] read first
  EXPECT_EQ(addr("a4").mem_addr, g.gpr[6]);
  // cmpsb: QEMU reads [rdi] before [rsi]
  EXPECT_EQ(addr("a6").mem_addr, g.gpr[7]);
  // mov eax, [ebx + ecx] (address-size prefix): 32-bit arithmetic
  g.gpr[3] = 0xfffffff0;
  g.gpr[1] = 0x20;
  EXPECT_EQ(addr("678b040b").mem_addr, 0x10u);
  // bt [rax], rcx: the bit offset selects the qword, also backwards
  g = regs();
  g.gpr[1] = 70;
  EXPECT_EQ(addr("480fa308").mem_addr, g.gpr[0] + 8);
  g.gpr[1] = uint64_t(-1);
  EXPECT_EQ(addr("480fa308").mem_addr, g.gpr[0] - 8);
  // xlatb: [rbx + al]
  g = regs();
  g.gpr[0] = 0x1234;
  EXPECT_EQ(addr("d7").mem_addr, g.gpr[3] + 0x34);
  // rep movsb with rcx = 0 touches nothing
  g.gpr[1] = 0;
  const trace::Record none = addr("f3a4");
  EXPECT_EQ(none.mem_size, 0);
  EXPECT_EQ(none.flags & (trace::kFlagLoad | trace::kFlagStore), 0);
  // lea and nop have memory operands but no access
  EXPECT_EQ(addr("488d04c8").flags, 0);
  EXPECT_EQ(addr("0f1f440000").mem_size, 0);
}

TEST(FinishRecordTest, SetsNextPcAndTakenFlag) {
  X86Decoder d;
  const auto je = *d.decode(kPc, bytes("7405"));
  trace::Record r = je.rec;
  finish_record(r, kPc + 2);
  EXPECT_EQ(r.next_pc, kPc + 2);
  EXPECT_FALSE(r.has(trace::kFlagTaken));
  r = je.rec;
  finish_record(r, kPc + 7);
  EXPECT_TRUE(r.has(trace::kFlagTaken));
  // Unconditional transfers are taken even to the fall-through address.
  r = d.decode(kPc, bytes("eb00"))->rec;
  finish_record(r, kPc + 2);
  EXPECT_TRUE(r.has(trace::kFlagTaken));
  // Non-branches never are.
  r = d.decode(kPc, bytes("4801d8"))->rec;
  finish_record(r, 0x1234);
  EXPECT_FALSE(r.has(trace::kFlagTaken));
  EXPECT_EQ(r.next_pc, 0x1234u);
}

TEST(AddAccessTest, FirstReadWinsElseFirstWrite) {
  trace::Record r;
  add_access(r, 0, 0x100, 8, true);  // store first
  EXPECT_EQ(r.mem_addr, 0x100u);
  EXPECT_EQ(r.flags, trace::kFlagStore);
  add_access(r, 0, 0x200, 4, false);  // a later read replaces it
  EXPECT_EQ(r.mem_addr, 0x200u);
  EXPECT_EQ(r.mem_size, 4);
  add_access(r, 0, 0x300, 4, false);  // the second read does not
  add_access(r, 0, 0x400, 4, true);
  EXPECT_EQ(r.mem_addr, 0x200u);
  EXPECT_EQ(r.flags, trace::kFlagStore | trace::kFlagLoad);
  // QEMU splits a 16-byte vector load in two: the decoded size wins.
  trace::Record v;
  add_access(v, 16, 0x1000, 8, false);
  add_access(v, 16, 0x1008, 8, false);
  EXPECT_EQ(v.mem_addr, 0x1000u);
  EXPECT_EQ(v.mem_size, 16);
}

}  // namespace
}  // namespace ns::tracer
