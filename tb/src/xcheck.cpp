#include "ntr/tb/xcheck.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>

#include <fmt/format.h>

#include "ntr/csim/error.h"
#include "xcheck_detail.h"

namespace ntr::tb {

namespace {

using Clock = std::chrono::steady_clock;

const char* stream_name(int s) { return s == 0 ? "dma" : s == 1 ? "mac" : s == 2 ? "ppu" : "none"; }

}  // namespace

std::string describe(const Completion& c) {
  if (c.datapath) return fmt::format("{} pc {} started {} done {}", stream_name(c.stream), c.pc, c.start, c.done);
  return fmt::format("{} pc {} executed {}", stream_name(c.stream), c.pc, c.start);
}

namespace detail {

void run_csim(csim::Machine& m, CsimRecorder& rec, XcheckResult& res) {
  const auto t0 = Clock::now();
  for (auto& v : rec.by_stream) v.clear();
  try {
    m.set_observer(&rec);
    const csim::Stats& st = m.run();
    res.csim_cycles = st.cycles;
    res.csim_busy.clear();
    for (const auto& s : st.streams) res.csim_busy.push_back(s.busy_cycles);
    res.csim_contention = st.contention_cycles;
  } catch (const csim::SimError& e) {
    res.csim_error = true;
    res.csim_kind = e.kind();
    res.csim_site = e.site();
    res.csim_message = e.what();
  }
  m.set_observer(nullptr);
  res.csim_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
}

void run_rtl(RtlTop* rtl, const CsimRecorder* rec, XcheckResult& res, uint64_t max_clocks) {
  auto fail = [&](std::string what) {
    if (res.ok) {
      res.ok = false;
      res.mismatch = std::move(what);
    }
  };
  const bool use_csim = rec != nullptr;
  std::array<std::deque<std::pair<int64_t, int64_t>>, 3> started;  // pc, start
  std::array<size_t, 3> next{0, 0, 0};
  std::array<std::vector<Completion>, 3> extra;  // RTL completions beyond csim's (checked at the end)
  auto compare = [&](const Completion& c) {
    ++res.completions;
    const auto s = static_cast<size_t>(c.stream);
    if (!use_csim) return;
    if (next[s] >= rec->by_stream[s].size()) {
      extra[s].push_back(c);
      return;
    }
    const Completion& want = rec->by_stream[s][next[s]++];
    if (!(want == c))
      fail(fmt::format("{} instruction #{}: csim {}, RTL {}", stream_name(c.stream), next[s] - 1, describe(want), describe(c)));
  };
  const auto t0 = Clock::now();
  rtl->start();
  do {
    const RetireCycle& r = rtl->retire();
    const auto t = static_cast<int64_t>(r.cycle);
    for (int s = 0; s < 3; ++s) {
      if (r.done >> s & 1) {
        auto& q = started[static_cast<size_t>(s)];
        if (q.empty()) {
          fail(fmt::format("RTL: {} completed an instruction at cycle {} that never started", stream_name(s), t));
          continue;
        }
        const auto [pc, start] = q.front();
        q.pop_front();
        if (pc != r.done_pc[s])
          fail(fmt::format("RTL: {} completed pc {} at cycle {}, the oldest started is pc {}", stream_name(s), r.done_pc[s], t, pc));
        compare(Completion{s, pc, start, t, true});
      }
    }
    for (int s = 0; s < 3; ++s) {
      if (r.exec >> s & 1) compare(Completion{s, r.pc[s], t, t, false});
      if (r.issue >> s & 1) started[static_cast<size_t>(s)].emplace_back(r.pc[s], t);
    }
    if (!res.ok && use_csim) break;  // the first difference is enough
    if (max_clocks && rtl->clocks() > max_clocks) {
      fail(fmt::format("RTL run did not end within {} clocks", max_clocks));
      break;
    }
  } while (rtl->step());
  while (rtl->running()) rtl->step();
  res.rtl_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  res.rtl = rtl->result();
  if (!use_csim || !res.ok) return;

  if (res.csim_error) {
    const uint32_t kind = 1u + static_cast<uint32_t>(*res.csim_kind);
    const auto& site = res.csim_site;
    const uint32_t stream = site.stream < 0 ? ~0u : static_cast<uint32_t>(site.stream);
    const uint32_t pc = site.pc < 0 ? ~0u : static_cast<uint32_t>(site.pc);
    const uint32_t tile = site.tile < 0 ? ~0u : static_cast<uint32_t>(site.tile);
    if (res.rtl.ok || res.rtl.err_kind != kind || res.rtl.err_stream != stream || res.rtl.err_pc != pc ||
        res.rtl.err_tile != tile || res.rtl.err_cycle != static_cast<uint64_t>(site.cycle))
      fail(fmt::format("csim stopped with '{}' (kind {}, stream {}, pc {}, tile {}, cycle {}); RTL: {} kind {} stream {} pc {} "
                       "tile {} cycle {}",
                       res.csim_message, kind, site.stream, site.pc, site.tile, site.cycle,
                       res.rtl.ok ? "completed," : "error", res.rtl.err_kind, static_cast<int32_t>(res.rtl.err_stream),
                       static_cast<int32_t>(res.rtl.err_pc), static_cast<int32_t>(res.rtl.err_tile), res.rtl.err_cycle));
    // In the error cycle csim evaluated the streams before the failing one only.
    for (int s = 0; s < 3; ++s) {
      for (const Completion& c : extra[static_cast<size_t>(s)]) {
        const bool after_error = c.start == site.cycle && !c.datapath && (site.stream < 0 || s >= site.stream);
        if (!after_error) fail(fmt::format("RTL completed {} which csim did not", describe(c)));
      }
    }
  } else {
    if (!res.rtl.ok)
      fail(fmt::format("csim completed in {} cycles; the RTL stopped with error kind {} (stream {}, pc {}, tile {}, cycle {})",
                       res.csim_cycles, res.rtl.err_kind, static_cast<int32_t>(res.rtl.err_stream),
                       static_cast<int32_t>(res.rtl.err_pc), static_cast<int32_t>(res.rtl.err_tile), res.rtl.err_cycle));
    else if (res.rtl.cycles != res.csim_cycles)
      fail(fmt::format("run length: csim {} cycles, RTL {}", res.csim_cycles, res.rtl.cycles));
    for (int s = 0; s < 3 && res.ok; ++s)
      if (!extra[static_cast<size_t>(s)].empty())
        fail(fmt::format("RTL completed {} which csim did not", describe(extra[static_cast<size_t>(s)][0])));
    for (int s = 0; s < 3 && res.ok; ++s)
      if (res.csim_busy[static_cast<size_t>(s)] != res.rtl.busy[s])
        fail(fmt::format("{} busy cycles: csim {}, RTL {}", stream_name(s), res.csim_busy[static_cast<size_t>(s)], res.rtl.busy[s]));
    if (res.ok && res.csim_contention != res.rtl.contention)
      fail(fmt::format("contention cycles: csim {}, RTL {}", res.csim_contention, res.rtl.contention));
  }
  for (int s = 0; s < 3 && res.ok; ++s)
    if (next[static_cast<size_t>(s)] != rec->by_stream[static_cast<size_t>(s)].size())
      fail(fmt::format("{}: csim completed {} instructions, the RTL {}; next in csim: {}", stream_name(s),
                       rec->by_stream[static_cast<size_t>(s)].size(), next[static_cast<size_t>(s)],
                       describe(rec->by_stream[static_cast<size_t>(s)][next[static_cast<size_t>(s)]])));
}

std::string first_difference(const char* what, std::span<const uint8_t> want, std::span<const uint8_t> got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  if (i == want.size() && i == got.size()) return {};
  if (i == want.size() || i == got.size()) return fmt::format("{}: csim {} bytes, RTL {}", what, want.size(), got.size());
  return fmt::format("{} byte {}: csim {}, RTL {}", what, i, want[i], got[i]);
}

}  // namespace detail

XcheckResult cross_check(RtlTop* rtl, const isa::AccelConfig& cfg, const isa::Program& program,
                         std::span<const uint8_t> gwb, std::span<const uint8_t> gib, const XcheckOptions& opt) {
  XcheckResult res;
  const bool use_csim = opt.mode != Mode::RtlOnly;
  const bool use_rtl = opt.mode != Mode::CsimOnly;

  detail::CsimRecorder rec;
  std::vector<uint8_t> csim_gwb, csim_gib;
  if (use_csim) {
    csim::Machine m(cfg);
    std::copy(gwb.begin(), gwb.end(), m.gwb().begin());
    std::copy(gib.begin(), gib.end(), m.gib().begin());
    try {
      m.load_program(program);
      detail::run_csim(m, rec, res);
    } catch (const csim::SimError& e) {  // a program that does not load
      res.csim_error = true;
      res.csim_kind = e.kind();
      res.csim_site = e.site();
      res.csim_message = e.what();
    }
    csim_gwb.assign(m.gwb().begin(), m.gwb().end());
    csim_gib.assign(m.gib().begin(), m.gib().end());
    if (!use_rtl) {
      res.gib = csim_gib;
      return res;
    }
  }

  rtl->reset();
  std::vector<uint8_t> image(static_cast<size_t>(cfg.gwb_bytes), 0);
  std::copy(gwb.begin(), gwb.end(), image.begin());
  rtl->write_gwb(0, image);
  image.assign(static_cast<size_t>(cfg.gib_bytes), 0);
  std::copy(gib.begin(), gib.end(), image.begin());
  rtl->write_gib(0, image);
  rtl->load_program(program);
  detail::run_rtl(rtl, use_csim ? &rec : nullptr, res, opt.max_clocks);
  res.gib = rtl->read_gib(0, static_cast<size_t>(cfg.gib_bytes));
  if (!use_csim || !res.ok) return res;

  if (auto d = detail::first_difference("GIB", csim_gib, res.gib); !d.empty()) {
    res.ok = false;
    res.mismatch = d;
  }
  if (res.ok && opt.compare_gwb) {
    if (auto d = detail::first_difference("GWB", csim_gwb, rtl->read_gwb(0, static_cast<size_t>(cfg.gwb_bytes))); !d.empty()) {
      res.ok = false;
      res.mismatch = d;
    }
  }
  return res;
}

}  // namespace ntr::tb
