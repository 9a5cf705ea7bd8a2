// Compiled into every executable that links ns_csim (an INTERFACE source): referencing the
// prediction backend's object file keeps its static registrar (ns::model::backend.h).
namespace ntr::csim {
extern int g_neutrino_sim_backend;
namespace {
[[maybe_unused]] const int* const kKeepNeutrinoSimBackend = &g_neutrino_sim_backend;
}  // namespace
}  // namespace ntr::csim
