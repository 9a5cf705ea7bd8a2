// Compiled into every target that links ns_csim (an INTERFACE source): a reference to the
// prediction backend's object file keeps its static registrar in the executable
// (ns/model/backend.h). `used` keeps the otherwise unused pointer, and with it the reference.
namespace ntr::csim {
extern int g_neutrino_sim_backend;
namespace {
[[gnu::used]] const int* const kKeepNeutrinoSimBackend = &g_neutrino_sim_backend;
}  // namespace
}  // namespace ntr::csim
