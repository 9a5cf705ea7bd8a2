#include "ntr/csim/error.h"

#include <fmt/format.h>

#include "ntr/isa/isa.h"

namespace ntr::csim {

std::string_view kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::IllegalInstruction: return "illegal instruction";
    case ErrorKind::OutOfBounds: return "out of bounds";
    case ErrorKind::Hazard: return "hazard";
    case ErrorKind::LoopMisuse: return "loop misuse";
    case ErrorKind::SemaphoreOverflow: return "semaphore overflow";
    case ErrorKind::StoreConflict: return "store conflict";
    case ErrorKind::Deadlock: return "deadlock";
    case ErrorKind::CycleLimit: return "cycle limit";
  }
  return "error";
}

namespace {

std::string message(ErrorKind kind, const std::string& detail, const ErrorSite& s) {
  std::string where;
  auto add = [&](const std::string& part) { where += (where.empty() ? "" : ", ") + part; };
  if (s.stream >= 0 && s.stream < isa::kStreams)
    add(fmt::format("stream {}", isa::stream_name(static_cast<isa::Stream>(s.stream))));
  if (s.pc >= 0) add(fmt::format("pc {}", s.pc));
  if (s.cycle >= 0) add(fmt::format("cycle {}", s.cycle));
  if (s.tile >= 0) add(fmt::format("tile {}", s.tile));
  return fmt::format("csim: {}: {}{}", kind_name(kind), detail, where.empty() ? "" : " (" + where + ")");
}

}  // namespace

SimError::SimError(ErrorKind kind, const std::string& detail, ErrorSite site)
    : std::runtime_error(message(kind, detail, site)), kind_(kind), detail_(detail), site_(site) {}

}  // namespace ntr::csim
