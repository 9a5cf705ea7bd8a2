# The tracers' multi-threaded test program: the main thread starts one thread (raw clone, no
# libc) whose every instruction is known, waits for it to exit, then runs a loop of its own.
# Static, fixed addresses, so a trace can be checked against the symbol table
# (tests/test_qemu_tracer.cpp).
#
#   probe_thread
#
# The thread, from the instruction after clone's system call (probe_t_cloned, where it starts
# with rax = 0) to its exit system call (probe_t_exit), runs 20000 iterations i of
#   a = i % 16; array[a] += i
# (array starts as 0, ..., 0). The main thread then adds up the array 10 times over, writes
# "sum <16 hex digits>\n" (the array's sum times 10) and exits with status 5.
        .intel_syntax noprefix
        .globl _start

        .set CLONE_THREAD_FLAGS, 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000
        .set CLONE_CHILD_CLEARTID, 0x200000
        .set PROBE_T_ITERATIONS, 20000

        .data
        .balign 64
probe_t_array:
        .zero 128
probe_t_tid:
        .long 1
probe_t_out:
        .ascii "sum 0000000000000000\n"
probe_t_hex:
        .ascii "0123456789abcdef"

        .bss
        .balign 64
probe_t_stack:
        .zero 16384
probe_t_stack_top:

        .text
_start:
        mov eax, 56                                    # clone(flags, stack, 0, &tid, 0)
        mov edi, CLONE_THREAD_FLAGS | CLONE_CHILD_CLEARTID
        lea rsi, [rip + probe_t_stack_top]
        xor edx, edx
        lea r10, [rip + probe_t_tid]
        xor r8d, r8d
        syscall
probe_t_cloned:
        test rax, rax
        jz probe_t_start
        js probe_t_fail
probe_t_wait:                                          # until the kernel clears the tid word
        mov edx, [rip + probe_t_tid]
        test edx, edx
        jz probe_t_joined
        mov eax, 202                                   # futex(&tid, FUTEX_WAIT, edx, NULL)
        lea rdi, [rip + probe_t_tid]
        xor esi, esi
        xor r10d, r10d
        syscall
        jmp probe_t_wait
probe_t_joined:
        xor ebx, ebx
        mov r8d, 10
probe_t_sum_round:
        xor ecx, ecx
        lea r13, [rip + probe_t_array]
probe_t_sum:
        add rbx, [r13 + rcx*8]
        inc ecx
        cmp ecx, 16
        jb probe_t_sum
        dec r8d
        jnz probe_t_sum_round

        lea rdi, [rip + probe_t_out + 4]
        lea r9, [rip + probe_t_hex]
        mov r8d, 16
probe_t_hexloop:
        rol rbx, 4
        mov eax, ebx
        and eax, 15
        movzx eax, byte ptr [r9 + rax]
        mov [rdi], al
        inc rdi
        dec r8d
        jnz probe_t_hexloop
        mov eax, 1
        mov edi, 1
        lea rsi, [rip + probe_t_out]
        mov edx, 21
        syscall
        mov eax, 231                                   # exit_group(5)
        mov edi, 5
        syscall
probe_t_fail:
        mov eax, 231
        mov edi, 1
        syscall

# The thread: after probe_t_cloned's test and jz, these 2 + 8 * PROBE_T_ITERATIONS + 3.
probe_t_start:
        xor ecx, ecx
        lea r13, [rip + probe_t_array]
probe_t_i0: mov rax, rcx
probe_t_i1: and eax, 15
probe_t_i2: mov rdx, [r13 + rax*8]
probe_t_i3: add rdx, rcx
probe_t_i4: mov [r13 + rax*8], rdx
probe_t_i5: inc rcx
probe_t_i6: cmp rcx, PROBE_T_ITERATIONS
probe_t_i7: jb probe_t_i0
        mov eax, 60                                    # exit(0): this thread only
        xor edi, edi
probe_t_exit:
        syscall
