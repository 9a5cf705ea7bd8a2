// Prints the widest vector ISA this host runs that ns_model's Eigen kernels can use.
#include <cstdio>
int main() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    std::puts("avx512");
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    std::puts("avx2");
  else
    std::puts("none");
}
