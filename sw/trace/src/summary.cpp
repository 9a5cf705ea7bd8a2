#include "ns/trace/summary.h"

#include <fmt/format.h>

namespace ns::trace {

Summary summarize(const Reader& reader) {
  Summary s;
  s.header = reader.header();
  s.meta = reader.metadata();
  s.epochs = reader.epochs();
  std::vector<Record> recs;
  for (size_t k = 0; k < s.epochs.size(); ++k) {
    reader.read_epoch(k, recs, true);
    for (const Record& r : recs) {
      if (r.is_warmup()) {
        ++s.warmup_records;
        continue;
      }
      ++s.records;
      ++s.opclass[r.opclass];
      s.loads += r.is_load();
      s.stores += r.is_store();
      s.branches += r.is_branch();
      s.conditional += r.has(kFlagConditional);
      s.taken += r.is_branch() && r.has(kFlagTaken);
      s.calls += r.has(kFlagCall);
      s.returns += r.has(kFlagReturn);
      s.indirect += r.has(kFlagIndirect);
    }
  }
  return s;
}

namespace {
double frac(uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; }
}  // namespace

nlohmann::json Summary::to_json() const {
  nlohmann::json j;
  j["program"] = meta.value("program", "");
  j["args"] = meta.value("args", nlohmann::json::array());
  j["format_version"] = fmt::format("{}.{}", header.version_major, header.version_minor);
  j["sampling"] = {{"skip", header.skip},
                   {"warmup", header.warmup},
                   {"epoch_length", header.epoch_length},
                   {"interval", header.interval}};
  j["records"] = records;
  j["warmup_records"] = warmup_records;
  j["mix"] = {{"loads", frac(loads, records)},
              {"stores", frac(stores, records)},
              {"branches", frac(branches, records)},
              {"conditional_branches", frac(conditional, records)},
              {"taken_branches", frac(taken, records)},
              {"calls", frac(calls, records)},
              {"returns", frac(returns, records)},
              {"indirect", frac(indirect, records)}};
  nlohmann::json hist = nlohmann::json::object();
  for (int c = 0; c < kOpClassCount; ++c)
    if (opclass[c]) hist[std::string(opclass_name(static_cast<OpClass>(c)))] = opclass[c];
  j["opclass"] = hist;
  nlohmann::json eps = nlohmann::json::array();
  for (const EpochInfo& e : epochs)
    eps.push_back({{"index", e.index},
                   {"first_instruction", e.first_instruction},
                   {"warmup_records", e.warmup_records},
                   {"records", e.records},
                   {"signature", to_hex(e.signature)}});
  j["epochs"] = eps;
  return j;
}

std::string Summary::to_text() const {
  std::string out;
  out += fmt::format("program      {}", meta.value("program", "?"));
  for (const auto& a : meta.value("args", nlohmann::json::array()))
    out += fmt::format(" {}", a.get<std::string>());
  out += "\n";
  out += fmt::format("sampling     skip {} warm-up {} epoch {} interval {}\n", header.skip,
                     header.warmup, header.epoch_length, header.interval);
  out += fmt::format("records      {} (+ {} warm-up) in {} epochs\n", records, warmup_records,
                     epochs.size());
  out += fmt::format(
      "mix          loads {:.1f}%  stores {:.1f}%  branches {:.1f}% (conditional {:.1f}%, "
      "taken {:.1f}%)  calls {:.1f}%  returns {:.1f}%  indirect {:.1f}%\n",
      100 * frac(loads, records), 100 * frac(stores, records), 100 * frac(branches, records),
      100 * frac(conditional, records), 100 * frac(taken, records), 100 * frac(calls, records),
      100 * frac(returns, records), 100 * frac(indirect, records));
  out += "epochs\n";
  for (const EpochInfo& e : epochs)
    out += fmt::format("  {:4}  first instruction {:>14}  records {:>8}  warm-up {:>8}  {}\n",
                       e.index, e.first_instruction, e.records, e.warmup_records,
                       to_hex(e.signature));
  out += "opclass histogram\n";
  for (int c = 0; c < kOpClassCount; ++c)
    if (opclass[c])
      out += fmt::format("  {:<18} {:>12}  {:5.1f}%\n", opclass_name(static_cast<OpClass>(c)),
                         opclass[c], 100 * frac(opclass[c], records));
  return out;
}

}  // namespace ns::trace
