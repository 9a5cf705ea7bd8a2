#include "plan.h"

#include <algorithm>

#include <fmt/format.h>

#include "ntr/compiler/error.h"
#include "ntr/isa/isa.h"
#include "ntr/isa/semantics.h"

namespace ntr::compiler {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t align_up(int64_t v, int64_t a) { return ceil_div(v, a) * a; }

std::string human(int64_t bytes) {
  if (bytes >= 10 * 1024) return fmt::format("{} bytes ({:.1f} KiB)", bytes, bytes / 1024.0);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

int64_t RegionMap::alloc(const std::string& name, int64_t size, int64_t align, std::string note) {
  const int64_t at = align_up(top_, align);
  regions_.push_back({name, at, size, std::move(note)});
  top_ = at + size;
  return at;
}

void RegionMap::check(const std::string& what) const {
  // Regions are allocated in order; overlaps would be a compiler bug.
  for (std::size_t i = 1; i < regions_.size(); ++i)
    if (regions_[i].offset < regions_[i - 1].offset + regions_[i - 1].size)
      throw CompileError(fmt::format("internal: {} regions '{}' and '{}' overlap", buffer_,
                                     regions_[i - 1].name, regions_[i].name));
  if (top_ <= capacity_) return;
  std::string parts;
  for (const auto& r : regions_)
    parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", r.name, r.size);
  throw CompileError(fmt::format("{} overflows by {} {} ({} needs {} of {}: {})", buffer_,
                                 top_ - capacity_, unit_, what, top_, capacity_, parts));
}

nlohmann::ordered_json RegionMap::to_json() const {
  nlohmann::ordered_json j;
  j["buffer"] = buffer_;
  j["unit"] = unit_;
  j["capacity"] = capacity_;
  j["used"] = top_;
  j["regions"] = nlohmann::ordered_json::array();
  for (const auto& r : regions_) {
    nlohmann::ordered_json e{{"name", r.name}, {"offset", r.offset}, {"size", r.size}};
    if (!r.note.empty()) e["note"] = r.note;
    j["regions"].push_back(e);
  }
  return j;
}

Plan make_plan(const ModelView& m, const isa::AccelConfig& cfg, const PlanOptions& opt) {
  Plan p;
  p.cfg = cfg;
  p.m = m;
  const int N = static_cast<int>(cfg.lanes());
  const int R = static_cast<int>(cfg.lwb_half_rows());
  p.lanes = N;
  p.half_rows = R;
  const int F = m.features, P = m.proj, H = m.hidden, G = 4 * m.hidden, Y = m.out_width;
  const int A = m.head_hidden, D = m.design_count(), L = m.length, T = m.target, C = m.context();
  const int chains = 2;

  // ------------------------------------------------------------- capacity of the weight buffer
  {
    int64_t weights = static_cast<int64_t>(m.proj_w.size());
    int64_t rows = P;
    for (const auto& layer : m.lstm)
      for (const auto& w : layer) {
        weights += static_cast<int64_t>(w.wih.size() + w.whh.size());
        rows += static_cast<int64_t>(w.bias.size());
      }
    for (const auto& h : m.heads) {
      weights += static_cast<int64_t>(h.fc1.size() + h.fc2.size() + h.reg.size());
      rows += A + 4;
    }
    const int64_t need = weights + rows * isa::kCbRowBytes;
    if (need > cfg.gwb_bytes)
      throw CompileError(fmt::format("global weight buffer overflows by {}: the model's INT8 weights take {} and its "
                                     "bias/requantisation constants {} ({} rows of {} bytes), the buffer of '{}' has {}",
                                     human(need - cfg.gwb_bytes), human(weights), human(rows * isa::kCbRowBytes), rows,
                                     isa::kCbRowBytes, cfg.name, human(cfg.gwb_bytes)));
  }

  // ------------------------------------------------------------- shape checks
  if (P > N)
    throw CompileError(fmt::format("input_proj width {} exceeds the {} MAC lanes of '{}'", P, N, cfg.name));
  if (F > R)
    throw CompileError(fmt::format("{} input features exceed the {} rows of an LWB half of '{}'", F, R, cfg.name));
  if (Y > R)
    throw CompileError(fmt::format("the heads' input width {} exceeds the {} rows of an LWB half of '{}'", Y, R, cfg.name));
  if (2 * D > N)
    throw CompileError(fmt::format("{} designs need {} cls_fc2 columns; '{}' has {} lanes", D, 2 * D, cfg.name, N));
  if (H > 256 || P > 256 || Y > 256)
    throw CompileError("hidden, input_proj and layer output widths are limited to 256 (one PPU instruction)");

  // ------------------------------------------------------------- weight jobs
  auto add_job = [&](std::string name, int rows, int row_bytes) {
    p.jobs.push_back({std::move(name), rows, row_bytes, 0});
    return static_cast<int>(p.jobs.size()) - 1;
  };
  std::vector<std::vector<int8_t>> job_data;
  auto job_bytes = [&](int id) -> std::vector<int8_t>& {
    if (job_data.size() <= static_cast<std::size_t>(id)) job_data.resize(static_cast<std::size_t>(id) + 1);
    auto& v = job_data[static_cast<std::size_t>(id)];
    v.assign(static_cast<std::size_t>(p.jobs[static_cast<std::size_t>(id)].rows) *
                 static_cast<std::size_t>(p.jobs[static_cast<std::size_t>(id)].row_bytes), 0);
    return v;
  };
  p.proj_tiles = static_cast<int>(ceil_div(P, N));
  for (int c = 0; c < p.proj_tiles; ++c) {
    const int cols = std::min(N, P - c * N);
    const int id = add_job(fmt::format("input_proj tile {}", c), F, cols);
    auto& b = job_bytes(id);
    for (int j = 0; j < F; ++j)
      for (int i = 0; i < cols; ++i)
        b[static_cast<std::size_t>(j * cols + i)] = m.proj_w[static_cast<std::size_t>((c * N + i) * F + j)];
    p.proj_job.push_back(id);
  }
  p.gate_tiles = static_cast<int>(ceil_div(G, N));
  p.lstm_job.resize(static_cast<std::size_t>(m.layers));
  p.lstm_row.resize(static_cast<std::size_t>(m.layers));
  // Untied directions whose recurrent blocks fit a half together share one job.
  const bool pack_hh = m.weight_sets == 2 && 2 * H <= R;
  for (int l = 0; l < m.layers; ++l) {
    const int in = m.lstm[static_cast<std::size_t>(l)][0].in;
    p.ih_chunks.push_back(static_cast<int>(ceil_div(in, R)));
    auto& jl = p.lstm_job[static_cast<std::size_t>(l)];
    auto& rl = p.lstm_row[static_cast<std::size_t>(l)];
    jl.assign(static_cast<std::size_t>(m.weight_sets), {});
    rl.assign(static_cast<std::size_t>(m.weight_sets), {});
    for (int s = 0; s < m.weight_sets; ++s) {
      jl[static_cast<std::size_t>(s)].assign(static_cast<std::size_t>(p.gate_tiles), std::vector<std::vector<int>>(2));
      rl[static_cast<std::size_t>(s)].assign(static_cast<std::size_t>(p.gate_tiles), std::vector<std::vector<int>>(2));
    }
    for (int c = 0; c < p.gate_tiles; ++c) {
      const int cols = std::min(N, G - c * N);
      for (int part = 0; part < 2; ++part) {
        const int K = part == 0 ? in : H;
        const bool packed = part == 1 && pack_hh;
        for (int q = 0; q * R < K; ++q) {
          const int rows = std::min(R, K - q * R);
          int shared_id = -1;
          for (int s = 0; s < m.weight_sets; ++s) {
            const LstmWeights& w = m.lstm[static_cast<std::size_t>(l)][static_cast<std::size_t>(s)];
            const std::vector<int8_t>& src = part == 0 ? w.wih : w.whh;
            int id = shared_id;
            int row0 = 0;
            if (packed && s == 1) {
              row0 = rows;
            } else {
              id = add_job(fmt::format("layer {}{} {} tile {} rows {}..{}", l,
                                       packed ? " both directions" : s ? " reverse" : "", part == 0 ? "W_ih" : "W_hh",
                                       c, q * R, q * R + rows - 1),
                           packed ? 2 * rows : rows, cols);
              job_bytes(id);
              shared_id = id;
            }
            auto& b = job_data[static_cast<std::size_t>(id)];
            for (int k = 0; k < rows; ++k)
              for (int i = 0; i < cols; ++i)
                b[static_cast<std::size_t>((row0 + k) * cols + i)] = src[static_cast<std::size_t>((c * N + i) * K + q * R + k)];
            jl[static_cast<std::size_t>(s)][static_cast<std::size_t>(c)][static_cast<std::size_t>(part)].push_back(id);
            rl[static_cast<std::size_t>(s)][static_cast<std::size_t>(c)][static_cast<std::size_t>(part)].push_back(row0);
          }
        }
      }
    }
  }
  p.hh_chunks.assign(static_cast<std::size_t>(m.layers), static_cast<int>(ceil_div(H, R)));
  p.head_cols = A * D + 2 * D;
  p.head_tiles = static_cast<int>(ceil_div(p.head_cols, N));
  for (int c = 0; c < p.head_tiles; ++c) {
    const int cols = std::min(N, p.head_cols - c * N);
    const int id = add_job(fmt::format("heads cls_fc1+regressors tile {}", c), Y, cols);
    auto& b = job_bytes(id);
    for (int k = 0; k < Y; ++k)
      for (int i = 0; i < cols; ++i) {
        const int j = c * N + i;
        int8_t v = 0;
        if (j < A * D) {
          const HeadWeights& h = m.heads[static_cast<std::size_t>(j / A)];
          v = h.fc1[static_cast<std::size_t>((j % A) * Y + k)];
        } else {
          const int jj = j - A * D;
          const HeadWeights& h = m.heads[static_cast<std::size_t>(jj / 2)];
          v = h.reg[static_cast<std::size_t>((jj % 2) * Y + k)];
        }
        b[static_cast<std::size_t>(k * cols + i)] = v;
      }
    p.head_job.push_back(id);
  }
  p.f2_rows = A * D;
  p.f2_chunks = static_cast<int>(ceil_div(p.f2_rows, R));
  for (int q = 0; q < p.f2_chunks; ++q) {
    const int rows = std::min(R, p.f2_rows - q * R);
    const int cols = 2 * D;
    const int id = add_job(fmt::format("heads cls_fc2 rows {}..{}", q * R, q * R + rows - 1), rows, cols);
    auto& b = job_bytes(id);
    for (int k = 0; k < rows; ++k) {
      const int kk = q * R + k, d = kk / A, a = kk % A;
      for (int c = 0; c < 2; ++c)
        b[static_cast<std::size_t>(k * cols + 2 * d + c)] =
            m.heads[static_cast<std::size_t>(d)].fc2[static_cast<std::size_t>(c * A + a)];
    }
    p.f2_job.push_back(id);
  }

  // ------------------------------------------------------------- constant buffer rows
  p.cb = RegionMap("constant buffer", "rows", cfg.ppu_cb_rows);
  std::vector<isa::CbRow> rows;
  auto add_rows = [&](const std::string& name, std::size_t n, auto row_of) {
    const int at = static_cast<int>(p.cb.alloc(name, static_cast<int64_t>(n)));
    for (std::size_t i = 0; i < n; ++i) rows.push_back(row_of(i));
    return at;
  };
  p.cb_proj = add_rows("input_proj", static_cast<std::size_t>(P), [&](std::size_t i) {
    return isa::CbRow{m.proj_bias[i], m.proj_mult[i], static_cast<uint8_t>(m.proj_shift[i])};
  });
  p.cb_lstm.resize(static_cast<std::size_t>(m.layers));
  for (int l = 0; l < m.layers; ++l)
    for (int s = 0; s < m.weight_sets; ++s) {
      const LstmWeights& w = m.lstm[static_cast<std::size_t>(l)][static_cast<std::size_t>(s)];
      p.cb_lstm[static_cast<std::size_t>(l)].push_back(
          add_rows(fmt::format("layer {}{} gates", l, s ? " reverse" : ""), static_cast<std::size_t>(G),
                   [&](std::size_t i) {
                     return isa::CbRow{w.bias[i], w.mult[i], static_cast<uint8_t>(w.shift[i])};
                   }));
    }
  // Head constants in column order: every design's cls_fc1 rows, then the regressors, then cls_fc2.
  const int fc1_base = add_rows("heads cls_fc1", static_cast<std::size_t>(A * D), [&](std::size_t i) {
    const HeadWeights& h = m.heads[i / static_cast<std::size_t>(A)];
    const std::size_t a = i % static_cast<std::size_t>(A);
    return isa::CbRow{h.fc1_bias[a], h.fc1_mult[a], static_cast<uint8_t>(h.fc1_shift[a])};
  });
  const int reg_base = add_rows("heads regressors", static_cast<std::size_t>(2 * D), [&](std::size_t i) {
    return isa::CbRow{m.heads[i / 2].reg_bias[i % 2], 1, 0};
  });
  const int fc2_base = add_rows("heads cls_fc2", static_cast<std::size_t>(2 * D), [&](std::size_t i) {
    return isa::CbRow{m.heads[i / 2].fc2_bias[i % 2], 1, 0};
  });
  for (int d = 0; d < D; ++d) {
    p.cb_fc1.push_back(fc1_base + d * A);
    p.cb_reg.push_back(reg_base + 2 * d);
    p.cb_fc2.push_back(fc2_base + 2 * d);
  }
  p.cb_rows = static_cast<int>(p.cb.used());
  p.cb.check("the model's bias/requantisation constants");

  // ------------------------------------------------------------- GWB image
  p.gwb = RegionMap("global weight buffer", "bytes", cfg.gwb_bytes);
  for (std::size_t i = 0; i < p.jobs.size(); ++i) {
    p.jobs[i].gwb = p.gwb.alloc(p.jobs[i].name, static_cast<int64_t>(p.jobs[i].rows) * p.jobs[i].row_bytes);
  }
  p.gwb_cb = p.gwb.alloc("constants (CB image)", static_cast<int64_t>(p.cb_rows) * isa::kCbRowBytes, 16);
  p.gwb.check("weights and constants");
  p.gwb_image.assign(static_cast<std::size_t>(p.gwb.used()), 0);
  for (std::size_t i = 0; i < p.jobs.size(); ++i)
    for (std::size_t k = 0; k < job_data[i].size(); ++k)
      p.gwb_image[static_cast<std::size_t>(p.jobs[i].gwb) + k] = static_cast<uint8_t>(job_data[i][k]);
  for (std::size_t r = 0; r < rows.size(); ++r)
    isa::pack_cb_row(rows[r], &p.gwb_image[static_cast<std::size_t>(p.gwb_cb) + r * isa::kCbRowBytes]);

  // ------------------------------------------------------------- schedule parameters
  // Burst: the projection rows of K steps per chain are computed together, on two copies of the
  // projection weights (an even number of weight blocks per step keeps the LWB halves aligned).
  // The second copy's positions must outlast the DMA of the next LSTM block.
  const int64_t proj_ppu = ceil_div(std::min(P, N), cfg.ppu_lanes) + cfg.ppu_latency;
  const int64_t per_pos = std::max<int64_t>(m.row_bytes, proj_ppu + 2);
  const int64_t job_dma = cfg.dma_latency + R + cfg.mac_latency + 8;
  const int pass_len = m.bidirectional() ? L : C + T;
  int k_min = static_cast<int>(ceil_div(job_dma, per_pos));  // positions in the burst's second part
  int burst = opt.burst;
  if (burst == 0) {
    // bi: the second part holds K positions (two per step: f and b); uni: K / 2.
    const int want = m.bidirectional() ? k_min : 2 * k_min;
    burst = 2;
    while (burst < want) burst *= 2;
  }
  burst = std::min(burst, pass_len);
  if (!m.bidirectional() && burst % 2) burst += burst < pass_len ? 1 : -1;
  if (burst < 1) burst = 1;
  int chunk = opt.head_chunk ? opt.head_chunk : std::min(T, 16);

  // ------------------------------------------------------------- LIB and VS
  auto layout_local = [&](int K, int Q) {
    p.lib = RegionMap("local input buffer", "bytes", cfg.lib_bytes);
    const int xrows = m.bidirectional() ? 2 * K : K;
    p.lib_x = p.lib.alloc("raw input rows of a burst", static_cast<int64_t>(xrows) * m.row_bytes);
    p.lib_u = p.lib.alloc("projection ring", static_cast<int64_t>(xrows) * P, 16);
    for (int d = 0; d < chains; ++d) p.lib_h[d] = p.lib.alloc(fmt::format("h, chain {}", d), H, 16);
    if (m.tied)
      for (int d = 0; d < chains; ++d) p.lib_p[d] = p.lib.alloc(fmt::format("combine, chain {}", d), H, 16);
    if (m.bidirectional())
      for (int d = 0; d < chains; ++d)
        p.lib_yin[d] = p.lib.alloc(fmt::format("layer-1 input, chain {}", d), Y, 16);
    p.lib_hy = p.lib.alloc("head inputs", static_cast<int64_t>(Q) * Y, 16);
    p.lib_a = p.lib.alloc("cls_fc1 outputs", static_cast<int64_t>(Q) * A * D, 16);
    p.lib_res = p.lib.alloc("results", static_cast<int64_t>(Q) * 4 * D, 16);
    p.vs = RegionMap("vector scratch", "words", cfg.ppu_vs_words);
    for (int d = 0; d < chains; ++d) {
      p.vs_c[d] = p.vs.alloc(fmt::format("cell state c, chain {}", d), H, cfg.ppu_lanes);
      p.vs_t[d] = p.vs.alloc(fmt::format("gate temporary, chain {}", d), H, cfg.ppu_lanes);
    }
    p.vs_z = p.vs.alloc("head logits", static_cast<int64_t>(Q) * 2 * D, cfg.ppu_lanes);
    p.vs_r = p.vs.alloc("head regressor outputs", static_cast<int64_t>(Q) * 2 * D, cfg.ppu_lanes);
  };
  for (;;) {
    layout_local(burst, chunk);
    if (p.lib.used() <= p.lib.capacity() && p.vs.used() <= p.vs.capacity()) break;
    if (!opt.head_chunk && chunk > 2) {
      chunk = std::max(2, chunk / 2);
      continue;
    }
    if (!opt.burst && burst > (m.bidirectional() ? 1 : 2)) {
      burst = std::max(m.bidirectional() ? 1 : 2, burst / 2);
      continue;
    }
    break;
  }
  p.lib.check(fmt::format("a window of L={} with burst {} and head chunk {}", L, burst, chunk));
  p.vs.check(fmt::format("head chunk {}", chunk));
  p.burst = burst;
  p.head_chunk = chunk;

  // ------------------------------------------------------------- spills
  const int64_t y0 = m.bidirectional() ? static_cast<int64_t>(L) * Y : 0;
  const int64_t y1 = static_cast<int64_t>(T) * Y;
  p.spill_y0 = 0;
  p.spill_y1 = align_up(y0, 16);
  p.spill_bytes = align_up(p.spill_y1 + y1, 16);
  const int64_t tiles = cfg.tiles;
  const int64_t gwb_spill_base = align_up(p.gwb.used(), 256);
  if (gwb_spill_base + tiles * p.spill_bytes <= cfg.gwb_bytes) {
    p.spill_in_gib = false;
    p.spill_base = p.gwb.alloc(fmt::format("spills of {} tile(s)", tiles), tiles * p.spill_bytes, 256,
                               "layer-0 outputs and target rows, per tile");
    p.spill_stride = p.spill_bytes;
  } else {
    p.spill_in_gib = true;
  }

  // ------------------------------------------------------------- GIB layout
  p.epoch = opt.epoch;
  if (p.epoch < 1) throw CompileError("the epoch must hold at least one instruction");
  p.bank_bytes = cfg.gib_bytes / tiles;
  p.windows_total = ceil_div(p.epoch, T);
  const int64_t B = m.row_bytes, Rb = 4 * D;
  auto io_bytes = [&](int64_t W, int64_t* in_at) {
    const int64_t in = (W * T + 2 * C) * B;
    const int64_t res = W * T * Rb;
    const int64_t i0 = Rb > B ? (W - 1) * T * (Rb - B) : 0;
    *in_at = i0;
    return std::max(res, i0 + in);
  };
  auto bank_need = [&](int64_t W) {
    int64_t i0 = 0;
    const int64_t io = io_bytes(W, &i0);
    return p.spill_in_gib ? align_up(io, 256) + p.spill_bytes : io;
  };
  const int64_t w_needed = ceil_div(p.windows_total, tiles);
  int64_t w_max = opt.max_windows_per_tile ? std::min(opt.max_windows_per_tile, w_needed) : w_needed;
  if (bank_need(1) > p.bank_bytes) {
    std::string spill;
    if (p.spill_in_gib)
      spill = fmt::format(" and a spill of {} (layer-0 outputs {} x {} and target rows {} x {}, which do not fit the "
                          "global weight buffer: {} free for {} tile(s))",
                          human(p.spill_bytes), m.bidirectional() ? L : 0, Y, T, Y,
                          human(cfg.gwb_bytes - gwb_spill_base), tiles);
    throw CompileError(fmt::format(
        "{} overflows by {}: one window per tile needs inputs ({}+2x{}) x {} = {}, results {} x {} = {}{}; "
        "each of the {} tile(s) has {}",
        tiles > 1 ? "global input buffer bank" : "global input buffer", human(bank_need(1) - p.bank_bytes), T, C, B,
        human((T + 2 * C) * B), T, Rb, human(T * Rb), spill, tiles, human(p.bank_bytes)));
  }
  int64_t lo = 1, hi = w_max;
  while (lo < hi) {  // largest W that fits
    const int64_t mid = (lo + hi + 1) / 2;
    if (bank_need(mid) <= p.bank_bytes)
      lo = mid;
    else
      hi = mid - 1;
  }
  // As few runs as fit, then as few windows per run as cover the epoch in that many runs.
  p.runs = ceil_div(p.windows_total, tiles * lo);
  p.windows_per_tile = opt.max_windows_per_tile ? lo : ceil_div(p.windows_total, tiles * p.runs);
  p.in_positions = p.windows_per_tile * T + 2 * C;
  p.gib = RegionMap(tiles > 1 ? "global input buffer bank" : "global input buffer", "bytes", p.bank_bytes);
  int64_t i0 = 0;
  const int64_t io = io_bytes(p.windows_per_tile, &i0);
  p.gib_res = 0;
  p.gib_in = i0;
  p.gib.alloc("inputs and results", io, 1,
              fmt::format("results at +{}: {} rows of {} bytes, overwriting consumed inputs; inputs at +{}: {} rows "
                          "of {} bytes",
                          p.gib_res, p.windows_per_tile * T, Rb, i0, p.in_positions, B));
  if (p.spill_in_gib) {
    p.spill_base = p.gib.alloc("spills", p.spill_bytes, 256, "layer-0 outputs and target rows");
    p.spill_stride = p.bank_bytes;
  }
  p.gib.check("the inputs, results and spills of a run");
  return p;
}

}  // namespace ntr::compiler
