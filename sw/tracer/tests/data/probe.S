# The tracers' test program: a loop with a known instruction sequence. Static, no libc, fixed
# addresses, so a trace can be checked against its symbol table (tests/test_qemu_tracer.cpp,
# tests/test_ptrace_tracer.cpp).
#
#   probe [ITERATIONS [wait]]
#
# Runs the loop ITERATIONS times (default 1000), then writes "sum <16 hex digits>\n" and exits
# with status 7. With a second argument it first writes "ready\n" and waits for one byte on its
# standard input (the system call at probe_read), so that a tracer can attach. Iteration i:
#   a = i % 64; array[a] += i; sum += array[a]
# (array starts as 1, 2, ..., 64); even iterations call probe_func (push/pop, a rep movsb of 3
# bytes and a cmpsb), odd ones take a conditional branch and an indirect jump.
        .intel_syntax noprefix
        .globl _start

        .data
        .balign 64
probe_array:
        .irp v, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32
        .quad \v
        .endr
        .irp v, 33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64
        .quad \v
        .endr
probe_buf:
        .zero 64
probe_ready:
        .ascii "ready\n"
probe_out:
        .ascii "sum 0000000000000000\n"
probe_hex:
        .ascii "0123456789abcdef"

        .text
_start:
        mov r12d, 1000
        cmp qword ptr [rsp], 2
        jb probe_start
        mov rsi, [rsp + 16]
        xor r12d, r12d
probe_parse:
        movzx eax, byte ptr [rsi]
        test al, al
        jz probe_parsed
        sub eax, 48
        imul r12, r12, 10
        add r12, rax
        inc rsi
        jmp probe_parse
probe_parsed:
        cmp qword ptr [rsp], 3
        jb probe_start
        mov eax, 1
        mov edi, 1
        lea rsi, [rip + probe_ready]
        mov edx, 6
        syscall
        xor eax, eax
        xor edi, edi
        lea rsi, [rip + probe_buf]
        mov edx, 1
probe_read:
        syscall
probe_start:
        xor ebx, ebx
        xor ecx, ecx
        lea r13, [rip + probe_array]
probe_i0:  mov rax, rcx
probe_i1:  and eax, 63
probe_i2:  mov rdx, [r13 + rax*8]
probe_i3:  add rdx, rcx
probe_i4:  mov [r13 + rax*8], rdx
probe_i5:  add rbx, rdx
probe_i6:  test cl, 1
probe_i7:  jnz probe_odd
probe_i8:  call probe_func
probe_i9:  jmp probe_join
probe_odd:
probe_i10: lea rsi, [rip + probe_target]
probe_i11: jmp rsi
probe_target:
probe_i12: nop
probe_join:
probe_i13: inc rcx
probe_i14: cmp rcx, r12
probe_i15: jb probe_i0

        lea rdi, [rip + probe_out + 4]
        lea r9, [rip + probe_hex]
        mov r8d, 16
probe_hexloop:
        rol rbx, 4
        mov eax, ebx
        and eax, 15
        movzx eax, byte ptr [r9 + rax]
        mov [rdi], al
        inc rdi
        dec r8d
        jnz probe_hexloop
        mov eax, 1
        mov edi, 1
        lea rsi, [rip + probe_out]
        mov edx, 21
        syscall
        mov eax, 60
        mov edi, 7
        syscall

probe_func:
probe_f0:  push rcx
probe_f1:  mov rcx, [rsp]
probe_f2:  lea rsi, [r13]
probe_f3:  lea rdi, [r13 + 512]
probe_f4:  mov ecx, 3
probe_f5:  rep movsb
probe_f6:  lea rsi, [r13]
probe_f7:  lea rdi, [r13 + 512]
probe_f8:  cmpsb
probe_f9:  pop rcx
probe_f10: ret
