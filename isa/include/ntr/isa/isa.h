// The Neutrino ISA in C++: generated tables and typed instruction structs (isa_gen.h, from
// isa/neutrino.yaml) plus encoding and decoding with full legality checking.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ntr/isa/config.h"
#include "ntr/isa/isa_gen.h"
#include "ntr/isa/word.h"

namespace ntr::isa {

// Descriptor of an opcode, or nullptr when the opcode value is reserved.
const InsnDesc* find_opcode(int opcode);
inline const InsnDesc& desc(Opcode op) { return *find_opcode(static_cast<int>(op)); }
// By mnemonic (case-insensitive), or nullptr.
const InsnDesc* find_mnemonic(std::string_view name);
// Index of a field by name in an instruction's descriptor, or -1.
int field_index(const InsnDesc& d, std::string_view name);

inline bool allowed_in(const InsnDesc& d, Stream s) {
  return (d.streams >> static_cast<int>(s)) & 1;
}
inline std::string_view stream_name(Stream s) { return kStreamNames[static_cast<int>(s)]; }
std::optional<Stream> parse_stream(std::string_view name);

// Encodes field values; throws IsaError naming the instruction and field when a value is out of
// range, not an enum member or a constraint fails.
Word encode(const Fields& f);
template <class T>
Word encode(const T& typed) {
  return encode(to_fields(typed));
}

// Decodes a word for a stream. On an illegal word returns nullopt and sets *why (reserved opcode,
// reserved bits, out-of-range field, failed constraint, wrong stream).
std::optional<Fields> decode(Word w, Stream s, std::string* why);

// Cost of a datapath instruction (docs/neutrino.md): the unit is busy for busy() cycles and its
// results and signals appear tail() cycles later. Control instructions take one front-end cycle.
inline bool is_datapath(Opcode op) { return desc(op).cls == InsnClass::Datapath; }

}  // namespace ntr::isa
