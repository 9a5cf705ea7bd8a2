#include "ntr/csim/lockstep.h"

#include <algorithm>

#include <fmt/format.h>

namespace ntr::csim {

std::string describe(const Retired& r) {
  std::string name(isa::desc(r.op).name);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return fmt::format("{} pc {} {}, cycles {}..{}", isa::stream_name(r.stream), r.pc, name, r.start, r.done);
}

Lockstep::Lockstep(Machine& machine) : machine_(machine) {
  machine_.set_observer(this);
  machine_.reset();
}

Lockstep::~Lockstep() { machine_.set_observer(nullptr); }

void Lockstep::on_retire(const Retired& r) { pending_[static_cast<size_t>(r.stream)].push_back(r); }

namespace {

std::string compare_writes(const Retired& want, const Retired& got) {
  if (want.writes.size() != got.writes.size())
    return fmt::format("{} writes, csim {}", got.writes.size(), want.writes.size());
  for (size_t i = 0; i < want.writes.size(); ++i) {
    const Write& a = want.writes[i];
    const Write& b = got.writes[i];
    if (a.space != b.space || a.tile != b.tile || a.offset != b.offset || a.values.size() != b.values.size())
      return fmt::format("write {}: {} tile {} {}+{}, csim {} tile {} {}+{}", i, space_name(b.space), b.tile, b.offset,
                         b.values.size(), space_name(a.space), a.tile, a.offset, a.values.size());
    for (size_t k = 0; k < a.values.size(); ++k)
      if (a.values[k] != b.values[k])
        return fmt::format("{} tile {} element {}: {}, csim {}", space_name(a.space), a.tile, a.offset + static_cast<int64_t>(k),
                           b.values[k], a.values[k]);
  }
  return {};
}

}  // namespace

std::string Lockstep::check(const Retired& other) {
  auto& q = pending_[static_cast<size_t>(other.stream)];
  while (q.empty())
    if (!machine_.step())
      return fmt::format("{}: csim has finished the {} stream", describe(other), isa::stream_name(other.stream));
  const Retired want = std::move(q.front());
  q.pop_front();
  ++checked_;
  if (want.pc != other.pc || want.op != other.op || want.start != other.start || want.done != other.done)
    return fmt::format("{}: csim completed {}", describe(other), describe(want));
  if (const std::string d = compare_writes(want, other); !d.empty()) return describe(other) + ": " + d;
  return {};
}

std::string Lockstep::finish() {
  while (machine_.step()) {
  }
  for (const auto& q : pending_)
    if (!q.empty())
      return fmt::format("csim completed {} more instruction(s), the first {}", q.size(), describe(q.front()));
  return {};
}

}  // namespace ntr::csim
