#include "x86_classes.h"

#include <algorithm>
#include <initializer_list>

namespace ns::tracer::detail {
namespace {

using trace::OpClass;

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool any_of(std::string_view s, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}
bool any_prefix(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](std::string_view p) { return starts(s, p); });
}

MnemonicClass make(OpClass op, Move move = Move::No, Special special = Special::None) {
  MnemonicClass c;
  c.op = op;
  c.move = move;
  c.special = special;
  return c;
}

// Control flow, system and hint instructions, whatever their operands.
bool control_or_system(std::string_view n, MnemonicClass& c) {
  if (n == "jmp" || n == "ljmp") {
    c = make(OpClass::BranchDirect, Move::No, Special::Jump);
  } else if (n == "call" || n == "lcall") {
    c = make(OpClass::CallDirect, Move::No, Special::Call);
  } else if (any_of(n, {"ret", "retf", "retfq", "iret", "iretd", "iretq", "sysret", "sysexit"})) {
    c = make(OpClass::Return, Move::No, Special::Return);
  } else if (any_of(n, {"jrcxz", "jecxz", "jcxz", "loop", "loope", "loopne"}) ||
             (n.size() >= 2 && n[0] == 'j')) {
    c = make(OpClass::BranchCond, Move::No, Special::CondBranch);
  } else if (any_of(n, {"syscall", "sysenter", "int"})) {
    c = make(OpClass::Syscall, Move::No, Special::Syscall);
    c.serializing = true;
  } else if (any_of(n, {"cpuid", "rdtsc", "rdtscp", "rdpmc", "lfence", "mfence", "sfence", "pause",
                        "serialize", "xgetbv", "xsetbv", "rdpid", "rdrand", "rdseed", "int1",
                        "int3", "into", "ud0", "ud1", "ud2", "ud2b", "hlt", "wrfsbase", "wrgsbase",
                        "rdfsbase", "rdgsbase", "xbegin", "xend", "xabort", "cli", "sti"})) {
    c = make(OpClass::Serializing);
    c.serializing = true;
  } else if (any_of(n, {"nop", "fnop", "endbr64", "endbr32"}) || starts(n, "prefetch")) {
    c = make(OpClass::Nop, Move::No, Special::Nop);
  } else {
    return false;
  }
  return true;
}

// x87 (Capstone's FPU group).
MnemonicClass x87(std::string_view n) {
  if (any_of(n, {"fld", "fild", "fbld", "fst", "fstp", "fist", "fistp", "fisttp", "fbstp", "fldcw",
                 "fnstcw", "fnstsw", "fldenv", "fnstenv", "fnsave", "frstor"}))
    return make(OpClass::FloatMisc, Move::Vec);
  if (any_of(n, {"fadd", "faddp", "fiadd", "fsub", "fsubp", "fsubr", "fsubrp", "fisub", "fisubr"}))
    return make(OpClass::FloatAdd);
  if (any_of(n, {"fmul", "fmulp", "fimul"})) return make(OpClass::FloatMult);
  if (any_of(n, {"fdiv", "fdivp", "fdivr", "fdivrp", "fidiv", "fidivr"}))
    return make(OpClass::FloatDiv);
  if (n == "fsqrt") return make(OpClass::FloatSqrt);
  if (any_prefix(n, {"fcom", "fucom", "ficom"}) || any_of(n, {"ftst", "fxam"}))
    return make(OpClass::FloatCmp);
  if (n == "frndint") return make(OpClass::FloatCvt);
  return make(OpClass::FloatMisc);
}

// Floating-point SSE/AVX operations on ps/pd (packed: SimdFloat*) or ss/sd (scalar: Float*).
bool sse_float(std::string_view n, MnemonicClass& c) {
  if (starts(n, "cvt")) {  // cvtsi2sd, cvttsd2si, cvtss2sd: scalar; cvtdq2ps, cvtps2ph: packed
    const bool scalar_cvt = n.find("ss2") != n.npos || n.find("sd2") != n.npos ||
                            n.find("si2") != n.npos || ends(n, "2ss") || ends(n, "2sd") ||
                            ends(n, "2si") || ends(n, "2usi") || n.find("usi2") != n.npos;
    c = make(scalar_cvt ? OpClass::FloatCvt : OpClass::SimdFloatCvt);
    return true;
  }
  const bool scalar = ends(n, "ss") || ends(n, "sd") || ends(n, "sh");
  const bool packed = ends(n, "ps") || ends(n, "pd") || ends(n, "ph");
  if (!scalar && !packed) return false;
  auto pick = [&](OpClass s, OpClass p) { c = make(scalar ? s : p); };
  if (any_prefix(n, {"fmadd", "fmsub", "fnmadd", "fnmsub", "fmaddsub", "fmsubadd"})) {
    pick(OpClass::FloatMultAcc, OpClass::SimdFloatMultAcc);
  } else if (any_prefix(n, {"dpp"})) {
    pick(OpClass::FloatMultAcc, OpClass::SimdFloatMultAcc);
  } else if (any_prefix(n, {"addsub", "hadd", "hsub", "add", "sub"})) {
    pick(OpClass::FloatAdd, OpClass::SimdFloatAdd);
  } else if (starts(n, "mul")) {
    pick(OpClass::FloatMult, OpClass::SimdFloatMult);
  } else if (starts(n, "div")) {
    pick(OpClass::FloatDiv, OpClass::SimdFloatDiv);
  } else if (starts(n, "sqrt")) {
    pick(OpClass::FloatSqrt, OpClass::SimdFloatSqrt);
  } else if (any_prefix(n, {"min", "max", "cmp", "comi", "ucomi", "fpclass"})) {
    pick(OpClass::FloatCmp, OpClass::SimdFloatCmp);
  } else if (any_prefix(n, {"and", "or", "xor"})) {
    c = make(OpClass::SimdFloatAlu);
    c.zero_idiom = starts(n, "xor");
  } else if (any_prefix(n, {"cvt", "round", "rndscale"})) {
    pick(OpClass::FloatCvt, OpClass::SimdFloatCvt);
  } else {
    // shuffles, blends, unpacks, rcp/rsqrt estimates, getexp/getmant/scalef/range/reduce/fixupimm
    pick(OpClass::FloatMisc, OpClass::SimdFloatMisc);
  }
  return true;
}

// Integer SIMD (SSE/AVX/MMX p-instructions and friends), after any AVX 'v' is removed.
bool simd_int(std::string_view n, MnemonicClass& c) {
  struct Rule {
    std::string_view prefix;
    OpClass op;
  };
  static constexpr Rule kRules[] = {
      {"pmaddubsw", OpClass::SimdMultAcc}, {"pmaddwd", OpClass::SimdMultAcc},
      {"pmadd52", OpClass::SimdMultAcc},   {"pdpbusd", OpClass::SimdMultAcc},
      {"pdpwssd", OpClass::SimdMultAcc},   {"pmul", OpClass::SimdMult},
      {"pclmul", OpClass::SimdMult},       {"gf2p8", OpClass::SimdMult},
      {"padd", OpClass::SimdAdd},          {"psub", OpClass::SimdAdd},
      {"pavg", OpClass::SimdAdd},          {"psadbw", OpClass::SimdAdd},
      {"dbpsadbw", OpClass::SimdAdd},      {"mpsadbw", OpClass::SimdAdd},
      {"phadd", OpClass::SimdAdd},         {"phsub", OpClass::SimdAdd},
      {"pabs", OpClass::SimdAdd},          {"psign", OpClass::SimdAdd},
      {"pand", OpClass::SimdAlu},          {"por", OpClass::SimdAlu},
      {"pxor", OpClass::SimdAlu},          {"pternlog", OpClass::SimdAlu},
      {"popcnt", OpClass::SimdAlu},        {"plzcnt", OpClass::SimdAlu},
      {"pconflict", OpClass::SimdAlu},     {"kand", OpClass::SimdAlu},
      {"kor", OpClass::SimdAlu},           {"kxor", OpClass::SimdAlu},
      {"kxnor", OpClass::SimdAlu},         {"knot", OpClass::SimdAlu},
      {"kshift", OpClass::SimdAlu},        {"kunpck", OpClass::SimdAlu},
      {"kadd", OpClass::SimdAlu},          {"kortest", OpClass::SimdCmp},
      {"ktest", OpClass::SimdCmp},         {"pcmp", OpClass::SimdCmp},
      {"pmin", OpClass::SimdCmp},          {"pmax", OpClass::SimdCmp},
      {"ptest", OpClass::SimdCmp},         {"psll", OpClass::SimdShift},
      {"psrl", OpClass::SimdShift},        {"psra", OpClass::SimdShift},
      {"prol", OpClass::SimdShift},        {"pror", OpClass::SimdShift},
      {"pshld", OpClass::SimdShift},       {"pshrd", OpClass::SimdShift},
  };
  for (const Rule& r : kRules) {
    if (starts(n, r.prefix)) {
      c = make(r.op);
      c.zero_idiom = any_prefix(n, {"pxor", "psub", "pcmpeq", "pcmpgt"}) || n == "kxorw" ||
                     n == "kxorb" || n == "kxord" || n == "kxorq";
      return true;
    }
  }
  // Shuffles, packs, inserts/extracts, permutes, broadcasts, conversions between widths, masks,
  // crypto rounds: all data rearrangement.
  if (any_prefix(n, {"pshuf", "punpck", "pack", "pinsr", "pextr", "pblend", "palignr", "perm",
                     "pmov", "pbroadcast", "broadcast", "insert", "extract", "pcompress",
                     "pexpand", "compress", "expand", "align", "aes", "sha", "zero", "emms",
                     "movmsk", "pmovmsk", "blendm", "pblendm", "kmov"})) {
    c = make(OpClass::SimdMisc);
    return true;
  }
  return false;
}

// Vector data moves (pure moves: FloatMemRead/FloatMemWrite with memory, SimdMisc without).
bool vector_move(std::string_view n) {
  return any_of(n, {"movaps", "movapd", "movups", "movupd", "movdqa", "movdqu", "movdqa32",
                    "movdqa64", "movdqu8", "movdqu16", "movdqu32", "movdqu64", "movss", "movsd",
                    "movq", "movd", "movhps", "movhpd", "movlps", "movlpd", "movhlps", "movlhps",
                    "movntps", "movntpd", "movntdq", "movntdqa", "movntq", "movntss", "movntsd",
                    "lddqu", "movddup", "movshdup", "movsldup", "movq2dq", "movdq2q",
                    "broadcastss", "broadcastsd", "broadcastf128", "broadcasti128",
                    "pbroadcastb", "pbroadcastw", "pbroadcastd", "pbroadcastq", "maskmovps",
                    "maskmovpd", "pmaskmovd", "pmaskmovq", "maskmovdqu", "maskmovq", "kmovb",
                    "kmovw", "kmovd", "kmovq", "extracti128", "extractf128", "ldmxcsr",
                    "stmxcsr", "fxsave", "fxsave64", "fxrstor", "fxrstor64", "xsave", "xsave64",
                    "xsaveopt", "xsaveopt64", "xsavec", "xsavec64", "xsaves", "xsaves64",
                    "xrstor", "xrstor64", "xrstors", "xrstors64"}) ||
         any_prefix(n, {"gather", "pgather", "scatter", "pscatter"});
}

}  // namespace

MnemonicClass classify_mnemonic(std::string_view n, bool vector, bool is_x87) {
  MnemonicClass c;
  if (control_or_system(n, c)) return c;

  // String instructions (movsd/cmpsd also name SSE instructions: those have vector operands).
  if (!vector && any_prefix(n, {"movs", "stos", "lods", "cmps", "scas", "ins", "outs"}) &&
      n.size() <= 5 && n != "movsx" && n != "insertps") {
    const bool move = starts(n, "movs") || starts(n, "stos") || starts(n, "lods");
    c = make(OpClass::IntAlu, move ? Move::Int : Move::No, Special::StringOp);
    return c;
  }

  // Vector and mask instructions: strip the AVX 'v' when the rest is a known SSE-style name.
  if (vector_move(n)) return make(OpClass::SimdMisc, Move::Vec);
  if (n.size() > 1 && n[0] == 'v' && vector_move(n.substr(1)))
    return make(OpClass::SimdMisc, Move::Vec);
  if (is_x87) return x87(n);
  if (vector || n[0] == 'v' || n[0] == 'k') {
    std::string_view s = n;
    if (s[0] == 'v' && s != "verr" && s != "verw") s.remove_prefix(1);
    if (simd_int(s, c) || sse_float(s, c)) return c;
    if (vector) return make(OpClass::SimdMisc);
  }

  // Integer instructions.
  if (any_of(n, {"mov", "movabs", "movzx", "movsx", "movsxd", "movbe", "movnti"}))
    return make(OpClass::IntAlu, Move::Int);
  if (any_of(n, {"push", "pushf", "pushfq", "pushfd", "pushaw", "pushal"}))
    return make(OpClass::IntAlu, Move::Int, Special::Push);
  if (any_of(n, {"pop", "popf", "popfq", "popfd", "popaw", "popal"}))
    return make(OpClass::IntAlu, Move::Int, Special::Pop);
  if (n == "enter") return make(OpClass::IntAlu, Move::Int, Special::Push);
  if (n == "leave") return make(OpClass::IntAlu, Move::Int, Special::Leave);
  if (n == "xlatb") return make(OpClass::IntAlu, Move::Int, Special::Xlat);
  if (any_of(n, {"imul", "mul", "mulx", "pdep", "pext", "crc32"})) return make(OpClass::IntMult);
  if (any_of(n, {"div", "idiv"})) return make(OpClass::IntDiv);
  if (any_of(n, {"bt", "bts", "btr", "btc"}))
    return make(OpClass::IntAlu, Move::No, Special::BitTest);
  if (any_of(n, {"cmpxchg", "cmpxchg8b", "cmpxchg16b"}))
    return make(OpClass::IntAlu, Move::No, Special::Cmpxchg);
  if (n == "xchg") return make(OpClass::IntAlu, Move::No, Special::Xchg);
  c = make(OpClass::IntAlu);
  c.zero_idiom = n == "xor" || n == "sub";
  return c;
}

}  // namespace ns::tracer::detail
