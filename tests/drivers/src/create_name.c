/*
 * create_name.c - create_name: a driver whose handles are named, the pattern of ImDisk's
 * deviodrv.sys: a server creates a name below the device (CreateFile("\\.\HvciNamed\server",
 * CREATE_NEW): FileObject->FileName "\server", disposition FILE_CREATE) and clients open it
 * (OPEN_EXISTING: FILE_OPEN). A nameless open, what CreateFile on the device itself gives, fails.
 *
 * IRP_MJ_CREATE:
 *   FileName empty: STATUS_OBJECT_NAME_NOT_FOUND, Information FILE_DOES_NOT_EXIST.
 *   FILE_CREATE: the name's table entry, 0x30 bytes of executable NonPagedPool tagged 'emaN'
 *     (a 0xC4/0x2000, as deviodrv's file table allocates), the name copied into it;
 *     STATUS_SUCCESS, Information FILE_CREATED; a second FILE_CREATE of a name that exists:
 *     STATUS_OBJECT_NAME_COLLISION, Information FILE_EXISTS.
 *   FILE_OPEN: STATUS_SUCCESS, Information FILE_OPENED when the name was created, else
 *     STATUS_OBJECT_NAME_NOT_FOUND, Information FILE_DOES_NOT_EXIST.
 *   Any other disposition: STATUS_INVALID_DEVICE_REQUEST.
 * IRP_MJ_CLOSE: STATUS_SUCCESS.  DriverUnload frees the entry and deletes the link and device.
 */
#include "compat.h"

#define NAME_TAG 'emaN'

typedef struct {
    USHORT Length;
    WCHAR Name[20];
} NAME_ENTRY;

static NAME_ENTRY *Created;
static UNICODE_STRING Link = RTL_CONSTANT_STRING(L"\\DosDevices\\HvciNamed");

static NTSTATUS Complete(PIRP Irp, NTSTATUS status, ULONG_PTR information)
{
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

static BOOLEAN SameName(const NAME_ENTRY *entry, PCUNICODE_STRING name)
{
    return entry != NULL && entry->Length == name->Length &&
           RtlCompareMemory(entry->Name, name->Buffer, name->Length) == name->Length;
}

static NTSTATUS NTAPI Create(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    PCUNICODE_STRING name = &sl->FileObject->FileName;
    ULONG disposition = sl->Parameters.Create.Options >> 24;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (name->Length == 0)
        return Complete(Irp, STATUS_OBJECT_NAME_NOT_FOUND, FILE_DOES_NOT_EXIST);
    if (disposition == FILE_OPEN)
        return SameName(Created, name) ? Complete(Irp, STATUS_SUCCESS, FILE_OPENED)
                                       : Complete(Irp, STATUS_OBJECT_NAME_NOT_FOUND, FILE_DOES_NOT_EXIST);
    if (disposition != FILE_CREATE)
        return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (Created != NULL)
        return Complete(Irp, STATUS_OBJECT_NAME_COLLISION, FILE_EXISTS);
    if (name->Length > sizeof(Created->Name))
        return Complete(Irp, STATUS_OBJECT_NAME_INVALID, 0);
    Created = ExAllocatePoolWithTag(NonPagedPool, sizeof(NAME_ENTRY), NAME_TAG);
    if (Created == NULL)
        return Complete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    Created->Length = name->Length;
    RtlCopyMemory(Created->Name, name->Buffer, name->Length);
    return Complete(Irp, STATUS_SUCCESS, FILE_CREATED);
}

static NTSTATUS NTAPI Close(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);
    return Complete(Irp, STATUS_SUCCESS, 0);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    if (Created != NULL)
        ExFreePoolWithTag(Created, NAME_TAG);
    IoDeleteSymbolicLink(&Link);
    IoDeleteDevice(DriverObject->DeviceObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\HvciNamed");
    PDEVICE_OBJECT device;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&Link, &name);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(device);
        return status;
    }
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Create;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = Close;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
