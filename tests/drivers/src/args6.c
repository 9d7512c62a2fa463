/*
 * args6.c - 32-bit and 8-bit parameters with garbage in their upper bits.
 *
 * The Windows x64 calling convention leaves the upper 32 bits of a 32-bit
 * register argument, and the upper bytes of a stack slot holding a smaller
 * argument, undefined.  Compilers really do leave junk there, so an emulated
 * export must read only the declared width.  Two hand-written call sites do
 * exactly that:
 *
 *   DirtyIoCreateDevice: IoCreateDevice(DriverObject,
 *        RDX = 0xDEADBEEF_00000040    DeviceExtensionSize (ULONG) = 0x40
 *        R8  = &name                  \Device\HvciArgs6
 *        R9  = 0xBADC0FFE_00000022    DeviceType (ULONG) = FILE_DEVICE_UNKNOWN
 *        [rsp+20h] = 0xFEEDFACE_00000100  DeviceCharacteristics (ULONG) = FILE_DEVICE_SECURE_OPEN
 *        [rsp+28h] = 0xA5A5A5A5_A5A5A500  Exclusive (BOOLEAN) = FALSE
 *        [rsp+30h] = &DeviceObject)
 *
 *   DirtyAllocateNx: ExAllocatePoolWithTag(
 *        RCX = 0x12345678_00000200    PoolType (POOL_TYPE, 32-bit) = NonPagedPoolNx
 *        RDX = 0x40                   NumberOfBytes (SIZE_T, all 64 bits used)
 *        R8  = 0x9ABCDEF0_36677241    Tag (ULONG) = '6grA' ("Arg6")
 *     A verifier that reads the pool type as 64 bits sees garbage; this is
 *     NonPagedPoolNx and must NOT be reported as 0x2000.
 *
 * Return values (first failure wins):
 *   0xE0000001  IoCreateDevice failed (status printed)
 *   0xE0000002  DeviceObject->DeviceType != FILE_DEVICE_UNKNOWN (0x22)
 *   0xE0000003  Characteristics lacks FILE_DEVICE_SECURE_OPEN (0x100)
 *   0xE0000004  Flags has DO_EXCLUSIVE (Exclusive read as more than a byte)
 *   0xE0000005  DeviceExtension is NULL
 *   0xE0000006  the 0x40-byte extension is not zero-filled or its last byte
 *               cannot be written and read back
 *   0xE0000007  DeviceObject->DriverObject / DriverObject->DeviceObject wrong
 *   0xE0000008  ExAllocatePoolWithTag with dirty upper bits returned NULL
 */
#include "compat.h"

#define EXT_SIZE 0x40
#define ARGS6_TAG '6grA'

NTSTATUS DirtyIoCreateDevice(PDRIVER_OBJECT DriverObject, PUNICODE_STRING DeviceName,
                             PDEVICE_OBJECT *DeviceObject);
PVOID DirtyAllocateNx(VOID);

/*
 * Microsoft x64 ABI.  On entry RSP = 8 mod 16; push rbx makes it 0 mod 16 and
 * the 0x40-byte frame (0x20 shadow space + three stack arguments + padding)
 * keeps it aligned at the call.
 */
__asm__(
    "\t.text\n"
    "\t.globl DirtyIoCreateDevice\n"
    "DirtyIoCreateDevice:\n"
    "\tpushq %rbx\n"
    "\tsubq $0x40, %rsp\n"
    "\tmovq %r8, %rbx\n"                          /* PDEVICE_OBJECT * */
    "\tmovq %rdx, %r8\n"                          /* DeviceName */
    "\tmovabsq $0xDEADBEEF00000040, %rdx\n"       /* DeviceExtensionSize */
    "\tmovabsq $0xBADC0FFE00000022, %r9\n"        /* DeviceType */
    "\tmovabsq $0xFEEDFACE00000100, %rax\n"       /* DeviceCharacteristics */
    "\tmovq %rax, 0x20(%rsp)\n"
    "\tmovabsq $0xA5A5A5A5A5A5A500, %rax\n"       /* Exclusive = FALSE */
    "\tmovq %rax, 0x28(%rsp)\n"
    "\tmovq %rbx, 0x30(%rsp)\n"                   /* DeviceObject */
    "\tcallq *__imp_IoCreateDevice(%rip)\n"
    "\taddq $0x40, %rsp\n"
    "\tpopq %rbx\n"
    "\tretq\n"
    "\n"
    "\t.globl DirtyAllocateNx\n"
    "DirtyAllocateNx:\n"
    "\tsubq $0x28, %rsp\n"
    "\tmovabsq $0x1234567800000200, %rcx\n"       /* PoolType = NonPagedPoolNx */
    "\tmovl $0x40, %edx\n"                        /* NumberOfBytes */
    "\tmovabsq $0x9ABCDEF036677241, %r8\n"        /* Tag = '6grA' */
    "\tcallq *__imp_ExAllocatePoolWithTag(%rip)\n"
    "\taddq $0x28, %rsp\n"
    "\tretq\n");

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name;
    PDEVICE_OBJECT dev = NULL;
    NTSTATUS status, result = STATUS_SUCCESS;
    volatile UCHAR *ext;
    PVOID pool;
    ULONG i;

    UNREFERENCED_PARAMETER(RegistryPath);

    RtlInitUnicodeString(&name, L"\\Device\\HvciArgs6");
    status = DirtyIoCreateDevice(DriverObject, &name, &dev);
    if (!NT_SUCCESS(status) || dev == NULL) {
        DbgPrint("args6: IoCreateDevice failed 0x%08X\n", status);
        return HV_FAIL(1);
    }
    DbgPrint("args6: type=0x%X characteristics=0x%X flags=0x%X extension=%p\n",
             dev->DeviceType, dev->Characteristics, dev->Flags, dev->DeviceExtension);

    if (dev->DeviceType != FILE_DEVICE_UNKNOWN)
        result = HV_FAIL(2);
    else if ((dev->Characteristics & FILE_DEVICE_SECURE_OPEN) == 0)
        result = HV_FAIL(3);
    else if (dev->Flags & DO_EXCLUSIVE)
        result = HV_FAIL(4);
    else if (dev->DeviceExtension == NULL)
        result = HV_FAIL(5);
    else if (dev->DriverObject != DriverObject || DriverObject->DeviceObject != dev)
        result = HV_FAIL(7);
    else {
        ext = (volatile UCHAR *)dev->DeviceExtension;
        for (i = 0; i < EXT_SIZE; i++) {
            if (ext[i] != 0) {
                result = HV_FAIL(6);
                break;
            }
        }
        ext[EXT_SIZE - 1] = 0x6A;
        if (ext[EXT_SIZE - 1] != 0x6A)
            result = HV_FAIL(6);
    }
    IoDeleteDevice(dev);
    if (result != STATUS_SUCCESS)
        return result;

    pool = DirtyAllocateNx();
    if (pool == NULL)
        return HV_FAIL(8);
    ExFreePoolWithTag(pool, ARGS6_TAG);

    DbgPrint("args6: ok\n");
    return STATUS_SUCCESS;
}
