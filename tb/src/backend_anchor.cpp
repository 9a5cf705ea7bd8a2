// Compiled into every target that links ns_tb (an INTERFACE source): a reference to the
// prediction backend's object file keeps its static registrar in the executable.
namespace ntr::tb {
extern int g_neutrino_rtl_backend;
namespace {
[[gnu::used]] const int* const kKeepNeutrinoRtlBackend = &g_neutrino_rtl_backend;
}  // namespace
}  // namespace ntr::tb
