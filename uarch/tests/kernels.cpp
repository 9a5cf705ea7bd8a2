#include "kernels.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace ns::uarch::kernels {

using namespace trace;

Record& Builder::append(Record r) {
  if (!r_.empty()) r_.back().next_pc = r.pc;
  r.inst_len = 4;
  r.next_pc = r.pc + 4;
  if (warm_) r.flags |= kFlagWarmup;
  r_.push_back(r);
  pc_ = r.pc + 4;
  return r_.back();
}

Record& Builder::op(OpClass c, RegRef dst, RegRef s1, RegRef s2) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(c);
  r.dst = dst;
  r.src1 = s1;
  r.src2 = s2;
  if (c == OpClass::Serializing || c == OpClass::Syscall) r.flags |= kFlagSerializing;
  return append(r);
}

Record& Builder::load(RegRef dst, RegRef addr_reg, uint64_t addr, uint16_t size) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(dst.cls == 2 ? OpClass::FloatMemRead : OpClass::MemRead);
  r.flags = kFlagLoad;
  r.mem_addr = addr;
  r.mem_size = size;
  r.src1 = addr_reg;
  r.dst = dst;
  return append(r);
}

Record& Builder::store(RegRef data, RegRef addr_reg, uint64_t addr, uint16_t size) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(data.cls == 2 ? OpClass::FloatMemWrite : OpClass::MemWrite);
  r.flags = kFlagStore;
  r.mem_addr = addr;
  r.mem_size = size;
  r.src1 = addr_reg;
  r.src2 = data;
  return append(r);
}

Record& Builder::load_op(OpClass c, RegRef dst, RegRef addr_reg, uint64_t addr) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(c);
  r.flags = kFlagLoad;
  r.mem_addr = addr;
  r.mem_size = 8;
  r.src1 = addr_reg;
  r.src2 = dst;
  r.dst = dst;
  return append(r);
}

Record& Builder::branch(bool taken, uint64_t target) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(OpClass::BranchCond);
  r.flags = kFlagBranch | kFlagConditional | (taken ? kFlagTaken : 0);
  r.src1 = flags();
  Record& out = append(r);
  if (taken) pc_ = target;
  return out;
}

Record& Builder::jump(uint64_t target) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(OpClass::BranchDirect);
  r.flags = kFlagBranch | kFlagTaken;
  Record& out = append(r);
  pc_ = target;
  return out;
}

Record& Builder::call(uint64_t target) {
  sp_ -= 8;
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(OpClass::CallDirect);
  r.flags = kFlagBranch | kFlagCall | kFlagTaken | kFlagStore;
  r.mem_addr = sp_;
  r.mem_size = 8;
  r.src1 = gpr(4);
  r.dst = gpr(4);
  Record& out = append(r);
  pc_ = target;
  return out;
}

Record& Builder::ret(uint64_t target) {
  Record r;
  r.pc = pc_;
  r.opclass = static_cast<uint8_t>(OpClass::Return);
  r.flags = kFlagBranch | kFlagReturn | kFlagTaken | kFlagIndirect | kFlagLoad;
  r.mem_addr = sp_;
  r.mem_size = 8;
  r.src1 = gpr(4);
  r.dst = gpr(4);
  sp_ += 8;
  Record& out = append(r);
  pc_ = target;
  return out;
}

Record& Builder::serializing() { return op(OpClass::Serializing); }

void Builder::loop(int iterations, const std::function<void(int)>& body) {
  const uint64_t head = pc_;
  for (int i = 0; i < iterations; ++i) {
    pc_ = head;
    body(i);
    branch(i + 1 < iterations, head);
  }
}

std::vector<Record> Builder::take() {
  std::vector<Record> out;
  out.swap(r_);
  return out;
}

std::vector<uint64_t> chase_ring(uint64_t base, size_t lines, uint64_t seed) {
  std::vector<uint64_t> order(lines);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  for (uint64_t& o : order) o = base + o * 64;
  return order;
}

std::vector<Record> mixed_workload(size_t instructions, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  Builder b(0x400000);
  constexpr uint64_t kArrayA = 0x10000000, kArrayB = 0x10100000, kSmall = 0x10200000,
                     kTable = 0x30000000, kTableBytes = 8u << 20;
  const std::vector<uint64_t> ring = chase_ring(0x20000000, 16384, seed + 1);  // 1 MB
  size_t ring_pos = 0;
  uint64_t offset = 0;
  const uint64_t fn[5] = {0x401000, 0x402000, 0x403000, 0x404000, 0x405000};
  std::vector<Record>& out = b.records();
  out.reserve(instructions + 512);
  while (out.size() < instructions) {
    // Function mix (per call): streaming 30%, chase 10%, branchy 25%, arithmetic 25%, hash 10%.
    const unsigned pick = static_cast<unsigned>(rng() % 20);
    const int k = pick < 6 ? 0 : pick < 8 ? 1 : pick < 13 ? 2 : pick < 18 ? 3 : 4;
    b.op(OpClass::IntAlu, gpr(1), gpr(1));
    b.op(OpClass::IntAlu, flags(), gpr(1));
    const uint64_t back = b.pc() + 4;
    b.call(fn[k]);
    switch (k) {
      case 0:  // streaming: b[i] = a[i] + c
        b.loop(32, [&](int) {
          b.load(vec(1), gpr(8), kArrayA + offset);
          b.op(OpClass::SimdFloatAdd, vec(2), vec(1), vec(3));
          b.store(vec(2), gpr(8), kArrayB + offset);
          b.op(OpClass::IntAlu, gpr(8), gpr(8));
          b.op(OpClass::IntAlu, flags(), gpr(8));
          offset = (offset + 8) % (256 << 10);
        });
        break;
      case 1:  // pointer chase over 1 MB
        b.loop(16, [&](int) {
          b.load(gpr(2), gpr(2), ring[ring_pos++ % ring.size()]);
          b.op(OpClass::IntAlu, gpr(3), gpr(2), gpr(3));
          b.op(OpClass::IntAlu, flags(), gpr(3));
        });
        break;
      case 2:  // data-dependent branches over an L1-resident array
        b.loop(24, [&](int) {
          b.load(gpr(5), gpr(9), kSmall + (rng() % 512) * 8);
          b.op(OpClass::IntAlu, flags(), gpr(5));
          const uint64_t skip = b.pc() + 8;
          b.branch(chance(0.3), skip);
          if (b.pc() != skip) b.op(OpClass::IntAlu, gpr(6), gpr(6), gpr(5));
          b.op(OpClass::IntAlu, flags(), gpr(7));
        });
        break;
      case 3:  // integer and FP arithmetic with some parallelism
        b.loop(16, [&](int i) {
          b.op(OpClass::IntMult, gpr(10), gpr(10), gpr(11));
          b.op(OpClass::FloatMult, vec(4), vec(4), vec(5));
          b.op(OpClass::FloatAdd, vec(6), vec(6), vec(4));
          b.op(OpClass::IntAlu, gpr(11), gpr(11));
          if (i % 8 == 7) b.op(OpClass::IntDiv, gpr(12), gpr(10), gpr(11));
          b.op(OpClass::IntAlu, flags(), gpr(11));
        });
        break;
      case 4:  // hash-table probes over 8 MB
        b.loop(8, [&](int) {
          b.op(OpClass::IntMult, gpr(13), gpr(13), gpr(14));
          b.load(gpr(15), gpr(13), kTable + (rng() % (kTableBytes / 64)) * 64);
          b.op(OpClass::IntAlu, gpr(14), gpr(15), gpr(14));
          b.op(OpClass::IntAlu, flags(), gpr(14));
        });
        break;
    }
    b.ret(back);
  }
  out.resize(instructions);
  return b.take();
}

}  // namespace ns::uarch::kernels
