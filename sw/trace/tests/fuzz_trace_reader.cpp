// libFuzzer target: any byte string given to the reader must either parse or raise TraceError.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "ns/trace/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/ns_fuzz_trace_" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    ns::trace::Reader r(path);
    for (size_t k = 0; k < r.epochs().size(); ++k) r.read_epoch(k);
  } catch (const ns::trace::TraceError&) {
  }
  return 0;
}
