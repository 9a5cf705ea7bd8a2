#include "ns/model/synthetic.h"

#include <random>

#include "ns/model/features.h"

namespace ns::model {

namespace {

using trace::OpClass;

struct StaticInst {
  uint64_t pc;
  uint8_t len;
  OpClass op;
  trace::RegRef src1, src2, dst;
  int mem = -1;  // access pattern for memory instructions
};

struct Pattern {
  uint64_t base, stride, span;
  bool random;
};

}  // namespace

std::vector<trace::Record> synthetic_records(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uni = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  auto reg = [&]() { return trace::RegRef{1, static_cast<uint8_t>(uni(0, 15))}; };

  // Memory: a stack, a few strided arrays and a scattered heap region.
  const uint64_t stack = 0x7ffd00000000ull + (uni(0, 0xffffff) << 8);
  const uint64_t heap = 0x555500000000ull + (uni(0, 0xffff) << 12);
  std::vector<Pattern> patterns = {{stack, 0, 256, false}};
  for (int i = 0; i < 4; ++i)
    patterns.push_back({heap + (uni(0, 255) << 20), uni(1, 8) * 8, uni(1, 64) << 12, false});
  patterns.push_back({heap, 0, 64 << 20, true});
  std::vector<uint64_t> cursor(patterns.size(), 0);

  // Code: basic blocks of straight-line instructions ending in a conditional branch.
  const OpClass alu[] = {OpClass::IntAlu, OpClass::IntAlu, OpClass::IntAlu, OpClass::IntMult,
                         OpClass::FloatAdd, OpClass::SimdFloatMult, OpClass::Nop};
  std::vector<std::vector<StaticInst>> blocks(uni(8, 40));
  uint64_t pc = 0x400000 + (uni(0, 0xff) << 12);
  for (auto& b : blocks) {
    const size_t len = uni(3, 14);
    for (size_t i = 0; i < len; ++i) {
      StaticInst s{pc, static_cast<uint8_t>(uni(1, 7)), alu[uni(0, 6)], reg(), reg(), reg()};
      const uint64_t kind = uni(0, 9);
      if (i + 1 == len) {
        s.op = OpClass::BranchCond;
        s.dst = {};
        s.src2 = {};
        s.src1 = {3, 0};
      } else if (kind < 3) {
        s.op = OpClass::MemRead;
        s.mem = static_cast<int>(uni(0, patterns.size() - 1));
        s.src2 = {};
      } else if (kind < 4) {
        s.op = OpClass::MemWrite;
        s.mem = static_cast<int>(uni(0, patterns.size() - 1));
        s.dst = {};
      }
      if (s.op == OpClass::FloatAdd || s.op == OpClass::SimdFloatMult) {
        s.src1 = {2, static_cast<uint8_t>(uni(0, 15))};
        s.src2 = {2, static_cast<uint8_t>(uni(0, 15))};
        s.dst = {2, static_cast<uint8_t>(uni(0, 15))};
      }
      if (s.op == OpClass::Nop) s.src1 = s.src2 = s.dst = {};
      pc += s.len;
      b.push_back(s);
    }
    pc += uni(0, 64);
  }

  std::vector<trace::Record> out;
  out.reserve(n);
  size_t block = 0;
  while (out.size() < n) {
    const auto& b = blocks[block];
    // Loop back to this block often, else jump anywhere or fall through.
    const uint64_t choice = uni(0, 9);
    const size_t next = choice < 6 ? block : choice < 8 ? uni(0, blocks.size() - 1)
                                                        : (block + 1) % blocks.size();
    for (size_t i = 0; i < b.size() && out.size() < n; ++i) {
      const auto& s = b[i];
      trace::Record r;
      r.pc = s.pc;
      r.inst_len = s.len;
      r.opclass = static_cast<uint8_t>(s.op);
      r.src1 = s.src1;
      r.src2 = s.src2;
      r.dst = s.dst;
      r.next_pc = s.pc + s.len;
      if (s.mem >= 0) {
        const auto& p = patterns[static_cast<size_t>(s.mem)];
        uint64_t& c = cursor[static_cast<size_t>(s.mem)];
        const uint64_t off = p.random ? uni(0, p.span / 8 - 1) * 8 : c;
        c = p.stride ? (c + p.stride) % p.span : uni(0, p.span / 8 - 1) * 8;
        r.mem_addr = p.base + off;
        r.mem_size = 8;
        r.flags = s.op == OpClass::MemRead ? trace::kFlagLoad : trace::kFlagStore;
      }
      if (s.op == OpClass::BranchCond) {
        r.flags = trace::kFlagBranch | trace::kFlagConditional;
        const uint64_t target = blocks[next].front().pc;
        if (target != r.next_pc) {
          r.flags |= trace::kFlagTaken;
          r.next_pc = target;
        }
      }
      out.push_back(r);
    }
    block = next;
  }
  return out;
}

std::vector<int32_t> synthetic_features(std::string_view encoding, size_t n, uint64_t seed) {
  FeatureEncoder enc(encoding);
  const auto records = synthetic_records(n, seed);
  std::vector<int32_t> out(n * static_cast<size_t>(enc.feature_count()));
  enc.encode(records, out);
  return out;
}

}  // namespace ns::model
