// nosplit_systemstack_switch(data, f, top, base) for the AArch64 procedure call standard.
//
// x0 = data, x1 = f, x2 = top (16-byte aligned, or 0 to stay on the current stack),
// x3 = base (unused here; the portable fallback needs it).
// Calls f(data) with sp = top and returns to the caller's stack afterwards. Uses 16 bytes
// of the caller's stack (saved x29 and x30); x29 anchors the CFA so that debuggers and
// backtraces walk from the system stack back to the caller.
    .pushsection .text.nosplit_systemstack_switch,"ax",%progbits
    .globl nosplit_systemstack_switch
    .type nosplit_systemstack_switch,%function
    .p2align 2
nosplit_systemstack_switch:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x30, -8
    .cfi_offset x29, -16
    mov x29, sp
    .cfi_def_cfa x29, 16
    cbz x2, 1f
    mov sp, x2
1:
    blr x1
    mov sp, x29
    .cfi_def_cfa sp, 16
    ldp x29, x30, [sp], #16
    .cfi_def_cfa_offset 0
    .cfi_restore x29
    .cfi_restore x30
    ret
    .cfi_endproc
    .size nosplit_systemstack_switch, .-nosplit_systemstack_switch
    .popsection
// Objects assembled alone (tests/systemstack_asm) need this note for a non-executable stack.
    .pushsection .note.GNU-stack,"",%progbits
    .popsection
