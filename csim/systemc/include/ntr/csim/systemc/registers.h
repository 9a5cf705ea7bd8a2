// Neutrino's memory-mapped control and status registers on the SystemC/TLM-2.0 platform (and the
// same map for any platform that wraps the RTL). All registers are 32 bits wide and accessed as
// aligned 32-bit words; 64-bit quantities are two registers, low word first. docs/csim.md
// ("SystemC platform") describes the protocol.
#pragma once

#include <cstdint>

namespace ntr::csim::platform {

namespace reg {
inline constexpr uint32_t kId = 0x00;            // RO: kIdValue
inline constexpr uint32_t kVersion = 0x04;       // RO: kVersionValue
inline constexpr uint32_t kCtrl = 0x08;          // WO: kCtrlStart | kCtrlLoad
inline constexpr uint32_t kStatus = 0x0C;        // RO bits kStatus*; writing 1s clears DONE/ERROR
inline constexpr uint32_t kIrqEnable = 0x10;     // RW bit 0: raise the interrupt when DONE or ERROR
inline constexpr uint32_t kProgramBase = 0x18;   // 64-bit host address of a program file image
inline constexpr uint32_t kWeightsBase = 0x20;   // 64-bit host address of the GWB image
inline constexpr uint32_t kWeightsBytes = 0x28;  // its length
inline constexpr uint32_t kEpochBase = 0x30;     // 64-bit host address of the input descriptors
inline constexpr uint32_t kEpochCount = 0x38;    // number of input descriptors
inline constexpr uint32_t kResultBase = 0x40;    // 64-bit host address of the result descriptors
inline constexpr uint32_t kResultCount = 0x48;   // number of result descriptors
inline constexpr uint32_t kErrorMsgBase = 0x50;  // 64-bit host address for the error text (or 0)
inline constexpr uint32_t kCycles = 0x60;        // 64-bit RO: cycles of the last run
inline constexpr uint32_t kErrorKind = 0x68;     // RO: 0 none, else 1 + ntr::csim::ErrorKind
inline constexpr uint32_t kErrorStream = 0x6C;   // RO: stream of the error (0xffffffff: none)
inline constexpr uint32_t kErrorPc = 0x70;       // RO
inline constexpr uint32_t kErrorTile = 0x74;     // RO
inline constexpr uint32_t kErrorCycle = 0x78;    // 64-bit RO
inline constexpr uint32_t kRuns = 0x80;          // RO: runs completed since reset
inline constexpr uint32_t kSize = 0x100;         // bytes of the register window
}  // namespace reg

inline constexpr uint32_t kIdValue = 0x4E54524E;  // "NTRN" little-endian
inline constexpr uint32_t kVersionValue = 1;
inline constexpr uint32_t kCtrlStart = 1u << 0;   // copy inputs in, run, copy results out
inline constexpr uint32_t kCtrlLoad = 1u << 1;    // load the program and the weight image
inline constexpr uint32_t kStatusBusy = 1u << 0;
inline constexpr uint32_t kStatusDone = 1u << 1;
inline constexpr uint32_t kStatusError = 1u << 2;
inline constexpr uint32_t kErrorMsgBytes = 256;   // the error text, NUL-terminated

// A DMA descriptor in host memory (16 bytes, little-endian): inputs copy host -> GIB before the
// run, results GIB -> host after it.
struct Descriptor {
  uint64_t host = 0;
  uint32_t gib = 0;
  uint32_t bytes = 0;
};
inline constexpr uint32_t kDescriptorBytes = 16;

}  // namespace ntr::csim::platform
