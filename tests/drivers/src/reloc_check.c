/*
 * reloc_check.c - base relocations must be applied when the image is loaded
 * at an address other than its preferred ImageBase (0x140000000).
 *
 * Absolute pointers are stored in .data (pointers to globals, a pointer to
 * itself, a pointer into the middle of an array) and in .rdata (a const table
 * of function pointers and a pointer to a string).  The code compares each
 * stored pointer with the address computed RIP-relatively (which is always
 * right) and calls through the function table.
 *
 * Return values (first failure wins):
 *   0xE0000001  g_PtrTable[0] != &g_Alpha
 *   0xE0000002  g_PtrTable[1] != &g_Beta or the values behind it are wrong
 *   0xE0000003  g_Self.Self != &g_Self
 *   0xE0000004  g_MidArray != &g_Array[3]
 *   0xE0000005  a g_FuncTable entry differs from the function's address
 *   0xE0000006  calling through g_FuncTable returned a wrong value
 *   0xE0000007  g_Greeting does not point at the string "reloc-check"
 *   0xE0000008  DriverObject->DriverStart != this image's base (__ImageBase)
 * On success it prints the load delta and returns STATUS_SUCCESS.
 */
#include "compat.h"
#include <ntimage.h>

#ifdef __clang__
extern IMAGE_DOS_HEADER __ImageBase;
#define HV_IMAGE_BASE ((PUCHAR)&__ImageBase)
#else
extern IMAGE_DOS_HEADER __image_base__;
#define HV_IMAGE_BASE ((PUCHAR)&__image_base__)
#endif

typedef ULONG (*HV_FN)(ULONG);

static NOINLINE ULONG FnAdd(ULONG x) { return x + 0x1111; }
static NOINLINE ULONG FnXor(ULONG x) { return x ^ 0xA5A5A5A5u; }
static NOINLINE ULONG FnMul(ULONG x) { return x * 7u; }

ULONG g_Alpha = 0xA1FA;
ULONG g_Beta = 0xBE7A;
ULONG g_Array[8] = { 10, 11, 12, 13, 14, 15, 16, 17 };

/* .data: writable pointers */
ULONG *g_PtrTable[2] = { &g_Alpha, &g_Beta };
struct HV_SELF { struct HV_SELF *Self; ULONG Magic; } g_Self = { &g_Self, 0x5E1F };
ULONG *g_MidArray = &g_Array[3];

/* .rdata: read-only pointers */
static const HV_FN g_FuncTable[3] = { FnAdd, FnXor, FnMul };
static const char *const g_Greeting = "reloc-check";

/* Read a pointer through a volatile lvalue so the compiler cannot fold it. */
#define LOADPTR(p) (*(void *const volatile *)&(p))
/* Make a value opaque to the optimizer (it keeps the RIP-relative lea that
 * produced it and cannot merge it with the relocated tables). */
#define LAUNDER(v) __asm__ __volatile__("" : "+r"(v))

static NOINLINE BOOLEAN SameString(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HV_FN expected[3];
    const ULONG inputs[3] = { 0x1000, 0x0F0F0F0F, 6 };
    const ULONG outputs[3] = { 0x2111, 0xAAAAAAAAu, 42 };
    PIMAGE_NT_HEADERS64 nt;
    LONG64 delta;
    ULONG i;

    UNREFERENCED_PARAMETER(RegistryPath);

    expected[0] = FnAdd;
    LAUNDER(expected[0]);
    expected[1] = FnXor;
    LAUNDER(expected[1]);
    expected[2] = FnMul;
    LAUNDER(expected[2]);

    if (LOADPTR(g_PtrTable[0]) != (void *)&g_Alpha)
        return HV_FAIL(1);
    if (LOADPTR(g_PtrTable[1]) != (void *)&g_Beta || *g_PtrTable[1] != 0xBE7A || *g_PtrTable[0] != 0xA1FA)
        return HV_FAIL(2);
    if (LOADPTR(g_Self.Self) != (void *)&g_Self || g_Self.Self->Magic != 0x5E1F)
        return HV_FAIL(3);
    if (LOADPTR(g_MidArray) != (void *)&g_Array[3] || *g_MidArray != 13)
        return HV_FAIL(4);
    for (i = 0; i < 3; i++) {
        HV_FN f = (HV_FN)LOADPTR(g_FuncTable[i]);
        if (f != expected[i])
            return HV_FAIL(5);
        if (f(inputs[i]) != outputs[i])
            return HV_FAIL(6);
    }
    if (!SameString((const char *)LOADPTR(g_Greeting), "reloc-check"))
        return HV_FAIL(7);
    if ((PUCHAR)DriverObject->DriverStart != HV_IMAGE_BASE)
        return HV_FAIL(8);

    nt = (PIMAGE_NT_HEADERS64)(HV_IMAGE_BASE + ((PIMAGE_DOS_HEADER)HV_IMAGE_BASE)->e_lfanew);
    delta = (LONG64)((ULONG_PTR)HV_IMAGE_BASE - (ULONG_PTR)nt->OptionalHeader.ImageBase);
    DbgPrint("reloc_check: base %p, preferred 0x%I64X, delta 0x%I64X: relocations ok\n",
             HV_IMAGE_BASE, (ULONG64)nt->OptionalHeader.ImageBase, (ULONG64)delta);
    return STATUS_SUCCESS;
}
