#include "ns/tracer/workloads.h"

#include <openssl/evp.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace ns::tracer {

uint64_t parse_count(const std::string& text) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw std::invalid_argument(fmt::format("'{}' is not a count", text));
  }
  double scale = 1;
  const std::string suffix = text.substr(pos);
  if (suffix == "k" || suffix == "K") scale = 1e3;
  else if (suffix == "M") scale = 1e6;
  else if (suffix == "G") scale = 1e9;
  else if (!suffix.empty())
    throw std::invalid_argument(fmt::format("'{}': unknown suffix '{}' (k, M or G)", text, suffix));
  const double n = v * scale;
  if (!(n >= 0) || n > 1.8e19 || n != std::floor(n) || text[0] == '-' || text[0] == '+')
    throw std::invalid_argument(fmt::format("'{}' is not a whole non-negative count", text));
  return static_cast<uint64_t>(n);
}

std::string Workload::digest() const {
  nlohmann::json j = {{"name", name},
                      {"setup", setup},
                      {"command", command},
                      {"stdin", stdin_file},
                      {"stdout", stdout_file},
                      {"env", env},
                      {"skip", sampling.skip},
                      {"warmup", sampling.warmup},
                      {"epoch", sampling.epoch},
                      {"epochs", sampling.epochs},
                      {"interval", sampling.interval},
                      {"expect_status", expect_status},
                      {"record_version", kTracerRecordVersion}};
  if (thread) j["thread"] = thread;  // only when set: digests of main-thread workloads stay put
  const std::string text = j.dump();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

namespace {

void apply_sampling(const YAML::Node& n, SamplingOptions& s, const std::string& where) {
  auto count = [&](const char* key, uint64_t& out) {
    if (!n[key]) return;
    try {
      out = parse_count(n[key].as<std::string>());
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: {}: {}", where, key, e.what()));
    }
  };
  count("skip", s.skip);
  count("warmup", s.warmup);
  count("epoch", s.epoch);
  count("epochs", s.epochs);
  count("interval", s.interval);
}

std::map<std::string, std::string> read_env(const YAML::Node& n, const std::string& where) {
  std::map<std::string, std::string> env;
  if (!n) return env;
  if (!n.IsMap()) throw std::runtime_error(where + ": env must be a map NAME: value");
  for (const auto& kv : n) env[kv.first.as<std::string>()] = kv.second.as<std::string>();
  return env;
}

}  // namespace

std::vector<Workload> load_workloads(const std::filesystem::path& yaml) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml.string());
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", yaml.string(), e.what()));
  }
  const std::string file = yaml.string();
  if (!root.IsMap() || !root["workloads"] || !root["workloads"].IsSequence())
    throw std::runtime_error(file + ": expected a map with a 'workloads' list");
  static const std::set<std::string> kDefaultKeys = {"skip",     "warmup", "epoch", "epochs",
                                                     "interval", "env"};
  static const std::set<std::string> kKeys = {
      "name",     "suite",  "description", "setup",  "command",       "stdin",
      "stdout",   "env",    "skip",        "warmup", "epoch",         "epochs",
      "interval", "thread", "expect_status", "dataset_split"};
  SamplingOptions defaults;
  std::map<std::string, std::string> default_env;
  if (const YAML::Node d = root["defaults"]) {
    for (const auto& kv : d)
      if (!kDefaultKeys.count(kv.first.as<std::string>()))
        throw std::runtime_error(
            fmt::format("{}: defaults: unknown key '{}'", file, kv.first.as<std::string>()));
    apply_sampling(d, defaults, file + ": defaults");
    default_env = read_env(d["env"], file + ": defaults");
  }
  std::vector<Workload> out;
  std::set<std::string> names;
  size_t i = 0;
  for (const YAML::Node& n : root["workloads"]) {
    const std::string where = fmt::format("{}: workload {}", file, i++);
    if (!n.IsMap()) throw std::runtime_error(where + ": expected a map");
    for (const auto& kv : n)
      if (!kKeys.count(kv.first.as<std::string>()))
        throw std::runtime_error(
            fmt::format("{}: unknown key '{}'", where, kv.first.as<std::string>()));
    Workload w;
    int thread = 0;
    try {
      w.name = n["name"].as<std::string>("");
      w.suite = n["suite"].as<std::string>("");
      w.description = n["description"].as<std::string>("");
      w.setup = n["setup"].as<std::string>("");
      if (n["command"]) w.command = n["command"].as<std::vector<std::string>>();
      w.stdin_file = n["stdin"].as<std::string>("");
      w.stdout_file = n["stdout"].as<std::string>("");
      w.expect_status = n["expect_status"].as<int>(0);
      thread = n["thread"].as<int>(0);
      w.dataset_split = n["dataset_split"].as<std::string>("");
    } catch (const YAML::Exception& e) {
      throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
    }
    const std::string wn = fmt::format("{} ('{}')", where, w.name);
    if (w.name.empty() || w.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.+-") !=
                              std::string::npos)
      throw std::runtime_error(wn + ": name must be non-empty [a-z0-9_.+-]");
    if (!names.insert(w.name).second) throw std::runtime_error(wn + ": duplicate name");
    if (thread < 0)
      throw std::runtime_error(
          fmt::format("{}: thread {} is not a thread index (0: the main thread)", wn, thread));
    w.thread = static_cast<unsigned>(thread);
    if (!w.dataset_split.empty() && w.dataset_split != "train" &&
        w.dataset_split != "validation" && w.dataset_split != "test")
      throw std::runtime_error(fmt::format(
          "{}: dataset_split '{}' is not train, validation or test", wn, w.dataset_split));
    if (w.command.empty() || w.command[0].empty())
      throw std::runtime_error(wn + ": command must be a non-empty list");
    w.sampling = defaults;
    apply_sampling(n, w.sampling, wn);
    w.env = default_env;
    for (const auto& [k, v] : read_env(n["env"], wn)) w.env[k] = v;
    try {
      SamplingPlan check(w.sampling);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: {}", wn, e.what()));
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace ns::tracer
