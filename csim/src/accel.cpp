#include "ntr/csim/accel.h"

#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "ntr/isa/accel_configs_gen.h"

namespace ntr::csim {

isa::AccelConfig resolve_accel(const std::string& spec, int64_t tiles) {
  const std::string name = spec.empty() ? (tiles > 1 ? "neutrino-8t" : "neutrino-1t") : spec;
  isa::AccelConfig cfg;
  bool found = false;
  std::string known;
  for (const auto& c : isa::shipped_accel_configs()) {
    known += (known.empty() ? "" : ", ") + c.name;
    if (c.name == name) {
      cfg = c;
      found = true;
    }
  }
  if (!found) {
    if (!std::filesystem::exists(name))
      throw isa::IsaError(fmt::format("accelerator config '{}': neither a shipped config ({}) nor a file", name, known));
    cfg = isa::load_accel_config(name);
  }
  if (tiles > 0 && tiles != cfg.tiles) {
    const std::string base = cfg.name;
    cfg.tiles = tiles;
    cfg.gib_banks = tiles;
    // "<family>-<N>t" names the family's N-tile instance.
    const auto dash = base.rfind('-');
    bool suffixed = dash != std::string::npos && base.size() > dash + 2 && base.back() == 't';
    for (size_t i = dash + 1; suffixed && i + 1 < base.size(); ++i) suffixed = std::isdigit(static_cast<unsigned char>(base[i]));
    cfg.name = fmt::format("{}-{}t", suffixed ? base.substr(0, dash) : base, tiles);
    cfg.description = fmt::format("{} scaled to {} tiles, one global input buffer bank each", base, tiles);
    isa::validate(cfg, cfg.name);
    for (const auto& c : isa::shipped_accel_configs())
      if (isa::fingerprint(c) == isa::fingerprint(cfg)) return c;
  }
  return cfg;
}

}  // namespace ntr::csim
