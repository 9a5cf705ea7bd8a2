#include "ns/runtime/bundle.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "ns/runtime/device.h"
#include "ntr/compiler/error.h"

namespace ns::runtime {

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw DeviceError(fmt::format("{}: cannot open", p.string()));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void finish(Bundle& b, const std::string& origin) {
  try {
    b.config = config_from_manifest(b.manifest);
    b.layout = ntr::compiler::HostLayout::from_manifest(b.manifest);
    b.expected_cycles_per_run = b.manifest.at("expected").at("cycles_per_run").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw DeviceError(fmt::format("{}: manifest: {}", origin, e.what()));
  } catch (const ntr::compiler::CompileError& e) {
    throw DeviceError(fmt::format("{}: {}", origin, e.what()));
  } catch (const ntr::isa::IsaError& e) {
    throw DeviceError(fmt::format("{}: {}", origin, e.what()));
  }
  if (static_cast<int64_t>(b.gwb_image.size()) > b.config.gwb_bytes)
    throw DeviceError(fmt::format("{}: the weight image has {} bytes; the global weight buffer of '{}' holds {}",
                                  origin, b.gwb_image.size(), b.config.name, b.config.gwb_bytes));
  if (b.layout.tiles != b.config.tiles || b.layout.gib_bytes != b.config.gib_bytes)
    throw DeviceError(fmt::format("{}: the GIB layout does not match the accelerator config", origin));
}

}  // namespace

ntr::isa::AccelConfig config_from_manifest(const nlohmann::ordered_json& manifest) {
  const auto& j = manifest.at("accel");
  ntr::isa::AccelConfig c;
  c.name = j.at("name").get<std::string>();
  c.description = j.value("description", "");
  for (const auto& p : ntr::isa::config_schema()) c.*(p.member) = j.at(p.name).get<int64_t>();
  ntr::isa::validate(c, "manifest accel '" + c.name + "'");
  if (j.contains("fingerprint")) {
    const std::string want = fmt::format("{:016x}", ntr::isa::fingerprint(c));
    if (j.at("fingerprint").get<std::string>() != want)
      throw ntr::isa::IsaError(fmt::format("manifest accel '{}': fingerprint {} does not match its parameters ({})",
                                           c.name, j.at("fingerprint").get<std::string>(), want));
  }
  return c;
}

Bundle load_bundle(const fs::path& dir) {
  const fs::path mpath = dir / "manifest.json";
  Bundle b;
  {
    std::ifstream f(mpath);
    if (!f) throw DeviceError(fmt::format("{}: cannot open (is {} a bundle from `neuroscalar compile`?)",
                                          mpath.string(), dir.string()));
    try {
      b.manifest = nlohmann::ordered_json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      throw DeviceError(fmt::format("{}: not valid JSON: {}", mpath.string(), e.what()));
    }
  }
  std::string prog_file = "program.bin", gwb_file = "gwb.bin";
  try {
    if (b.manifest.value("format", "") != "neutrino-bundle")
      throw DeviceError(fmt::format("{}: not a neutrino-bundle manifest", mpath.string()));
    if (b.manifest.at("version").get<int>() != 1)
      throw DeviceError(fmt::format("{}: bundle version {} (this driver reads 1)", mpath.string(),
                                    b.manifest.at("version").get<int>()));
    prog_file = b.manifest.at("program").value("file", prog_file);
    gwb_file = b.manifest.at("gwb").value("file", gwb_file);
  } catch (const nlohmann::json::exception& e) {
    throw DeviceError(fmt::format("{}: {}", mpath.string(), e.what()));
  }
  try {
    b.program = ntr::isa::load_program(dir / prog_file);
  } catch (const ntr::isa::IsaError& e) {
    throw DeviceError(e.what());
  }
  b.gwb_image = read_file(dir / gwb_file);
  const auto want = b.manifest.at("gwb").value("image_bytes", static_cast<int64_t>(b.gwb_image.size()));
  if (want != static_cast<int64_t>(b.gwb_image.size()))
    throw DeviceError(fmt::format("{}: {} bytes, the manifest says {}", (dir / gwb_file).string(),
                                  b.gwb_image.size(), want));
  finish(b, dir.string());
  return b;
}

Bundle make_bundle(const ntr::compiler::CompiledProgram& c) {
  Bundle b;
  b.program = c.program;
  b.gwb_image = c.gwb_image;
  b.manifest = c.manifest;
  finish(b, "compiled program");
  return b;
}

}  // namespace ns::runtime
