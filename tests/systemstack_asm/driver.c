/* Drives the assembly switch of nosplit-runtime from C, for tests/systemstack_asm.rs: it is
 * assembled by the target's GNU toolchain and run natively or under qemu-user, so that the
 * AArch64 routine is tested on this x86_64 host too. Prints "ok" or the failed check. */
#include <execinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern void nosplit_systemstack_switch(void *data, void (*f)(void *), void *top, void *base);

static _Alignas(16) unsigned char stack[256 * 1024];

struct call {
    uintptr_t sp;       /* an address in f's frame */
    uint64_t in, out;
    void *main_ret;     /* where `caller` returns to in main: must be found by backtrace */
    int unwound;        /* backtrace from f reached main */
    uintptr_t fsp;      /* frame address in caller, before and after */
};

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s (line %d)\n", #c, __LINE__); return 1; } } while (0)

static void __attribute__((noinline)) f(void *p) {
    struct call *c = p;
    volatile unsigned char buf[64 * 1024]; /* deeper than a small caller could afford */
    memset((void *)buf, 1, sizeof buf);
    c->sp = (uintptr_t)buf;
    c->out = c->in * 3 + buf[4096];
    void *frames[64];
    int n = backtrace(frames, 64);
    for (int i = 0; i < n; i++)
        if (frames[i] == c->main_ret)
            c->unwound = 1;
}

static int __attribute__((noinline)) caller(struct call *c, int switch_stack) {
    /* Callee-saved registers must survive: keep values live across the call. */
    volatile uint64_t a = c->in + 1, b = c->in + 2;
    c->main_ret = __builtin_return_address(0);
    uintptr_t before = (uintptr_t)__builtin_frame_address(0);
    if (switch_stack)
        nosplit_systemstack_switch(c, f, stack + sizeof stack, stack);
    else
        nosplit_systemstack_switch(c, f, 0, 0);
    c->fsp = (uintptr_t)__builtin_frame_address(0) - before;
    return a + 1 == c->in + 2 && b + 1 == c->in + 3;
}

int main(void) {
    struct call c = {0};
    c.in = 14;
    CHECK(caller(&c, 1));
    CHECK(c.out == 43);
    CHECK(c.sp >= (uintptr_t)stack && c.sp < (uintptr_t)stack + sizeof stack);
    CHECK(c.fsp == 0);
    CHECK(c.unwound);
    struct call d = {0};
    d.in = 5;
    CHECK(caller(&d, 0));
    CHECK(d.out == 16);
    CHECK(!(d.sp >= (uintptr_t)stack && d.sp < (uintptr_t)stack + sizeof stack));
    CHECK(d.unwound);
    printf("ok\n");
    return 0;
}
