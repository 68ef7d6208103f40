// nosplit_systemstack_switch(data, f, top, base) for the x86_64 System V ABI.
//
// rdi = data, rsi = f, rdx = top (16-byte aligned, or 0 to stay on the current stack),
// rcx = base (unused here; the portable fallback needs it).
// Calls f(data) with rsp = top and returns to the caller's stack afterwards. Uses 16 bytes
// of the caller's stack (return address and saved rbp); rbp anchors the CFA so that
// debuggers and backtraces walk from the system stack back to the caller.
    .pushsection .text.nosplit_systemstack_switch,"ax",@progbits
    .globl nosplit_systemstack_switch
    .type nosplit_systemstack_switch,@function
    .p2align 4
nosplit_systemstack_switch:
    .cfi_startproc
    pushq %rbp
    .cfi_def_cfa_offset 16
    .cfi_offset %rbp, -16
    movq %rsp, %rbp
    .cfi_def_cfa_register %rbp
    testq %rdx, %rdx
    cmovneq %rdx, %rsp
    callq *%rsi
    movq %rbp, %rsp
    popq %rbp
    .cfi_def_cfa %rsp, 8
    retq
    .cfi_endproc
    .size nosplit_systemstack_switch, .-nosplit_systemstack_switch
    .popsection
// Objects assembled alone (tests/systemstack_asm) need this note for a non-executable stack.
    .pushsection .note.GNU-stack,"",%progbits
    .popsection
