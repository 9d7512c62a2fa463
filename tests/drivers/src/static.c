/*
 * static.c - drivers for the image rules (0x2003, 0x2004, 0x2005 and the
 * "unsupported relocation" counter).  All of them run the same typical,
 * clean DriverEntry; they differ in one property of the image:
 *
 *   CASE_CLEAN      nothing wrong (no static finding)
 *   CASE_RWX        an extra section ".rwx" that is writable and executable
 *   CASE_INIT_RWX   DriverEntry in section INIT, which the build marks RWX
 *   CASE_UNALIGNED  nothing in the source: the link uses 0x200 alignment
 *   CASE_IAT_EXEC   nothing in the source: the link puts the IAT in .text
 *   CASE_STRADDLE   a 64-bit pointer at offset 0xFFC of section ".strad",
 *                   so its base relocation straddles a 4 KiB page boundary
 *
 * Build with -DHV_NAME=<driver name>; the device is \Device\Hvci_<name>.
 */
#include "compat.h"

#define POOL_TAG 'nelC' /* "Clen" */

/* Explicit initializers: with -fno-zero-initialized-in-bss (unaligned_gcc)
 * these land in .data and the image has no .bss section. */
static PDEVICE_OBJECT g_Device = NULL;
static UNICODE_STRING g_LinkName = { 0, 0, NULL };

#if defined(CASE_RWX)
/*
 * A helper whose code sits in a section with flags "wx": the assembler marks
 * it IMAGE_SCN_CNT_CODE | MEM_EXECUTE | MEM_READ | MEM_WRITE.  It only runs,
 * it never writes itself.
 */
ULONG RwxHelper(VOID);
__asm__(".section .rwx,\"wx\"\n"
        "\t.globl RwxHelper\n"
        "RwxHelper:\n"
        "\tmovl $0x2003, %eax\n"
        "\tret\n"
        "\t.text\n");
#endif

#if defined(CASE_UNALIGNED) && defined(UNALIGNED_PAD)
/*
 * With 0x200 alignment every section start is a multiple of 0x200, so one
 * may land on a page boundary by accident.  build.sh passes a pad size that
 * makes .rdata span the 0x1000 boundary instead, so that no section of the
 * image is page aligned.
 */
static const UCHAR g_LayoutPad[UNALIGNED_PAD] = { 0x50, 0x41, 0x44 };
#endif

#if defined(CASE_STRADDLE)
static volatile ULONG g_StraddleTarget = 0x600DF00Du;

#pragma pack(push, 1)
typedef struct _STRADDLE_PAGE {
    UCHAR Pad[0xFFC];
    volatile ULONG *Pointer; /* bytes 0xFFC..0x1003 of the section: crosses the page */
    ULONG Tail;
} STRADDLE_PAGE;
#pragma pack(pop)

__attribute__((section(".strad")))
STRADDLE_PAGE g_Straddle = { { 1 }, &g_StraddleTarget, 0x53545244u /* "DRTS" */ };
#endif

static NTSTATUS NTAPI DispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    IoDeleteSymbolicLink(&g_LinkName);
    IoDeleteDevice(DriverObject->DeviceObject);
}

#if defined(CASE_INIT_RWX)
__attribute__((section("INIT")))
#endif
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName;
    NTSTATUS status;
    PUCHAR buffer;
    ULONG extra = 0;

    RtlInitUnicodeString(&deviceName, L"\\Device\\Hvci_" HV_NAME_W);
    status = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &g_Device);
    if (!NT_SUCCESS(status))
        return status;

    RtlInitUnicodeString(&g_LinkName, L"\\DosDevices\\Hvci_" HV_NAME_W);
    status = IoCreateSymbolicLink(&g_LinkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(g_Device);
        return status;
    }

    DriverObject->MajorFunction[IRP_MJ_CREATE] = DispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = DispatchCreateClose;
    DriverObject->DriverUnload = DriverUnload;

    buffer = ExAllocatePoolWithTag((POOL_TYPE)HV_NonPagedPoolNx, 0x40, POOL_TAG);
    if (buffer == NULL) {
        IoDeleteSymbolicLink(&g_LinkName);
        IoDeleteDevice(g_Device);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    buffer[0] = 0x5A;
    buffer[0x3F] = 0xA5;
    ExFreePoolWithTag(buffer, POOL_TAG);

#if defined(CASE_RWX)
    extra = RwxHelper();
#elif defined(CASE_UNALIGNED) && defined(UNALIGNED_PAD)
    extra = ((volatile const UCHAR *)g_LayoutPad)[1];
#elif defined(CASE_STRADDLE)
    /* The relocated pointer must still point at g_StraddleTarget. */
    if (g_Straddle.Pointer != &g_StraddleTarget || *g_Straddle.Pointer != 0x600DF00Du) {
        IoDeleteSymbolicLink(&g_LinkName);
        IoDeleteDevice(g_Device);
        return HV_FAIL(1);
    }
    extra = g_Straddle.Tail;
#endif

    g_Device->Flags &= ~DO_DEVICE_INITIALIZING;
    DbgPrint("%s: loaded from %wZ (0x%x)\n", HV_NAME_A, RegistryPath, extra);
    return STATUS_SUCCESS;
}
