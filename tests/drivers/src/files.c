/*
 * files.c - the Zw file routines on the emulated volume, as a driver writing
 * a log file uses them, each result checked against the ZwCreateFile /
 * ZwReadFile / ZwWriteFile / ZwQueryInformationFile / ZwSetInformationFile /
 * ZwQueryDirectoryFile reference pages.
 *
 * Files it leaves (the report's files_written, in the order first written):
 *   C:\Windows\Temp\renamed.log      "hello world" (11 bytes; created as hvci_files.log, renamed)
 *   C:\Windows\Temp\overwrite.txt    "second" (written "first", then FILE_OVERWRITE_IF)
 *   C:\Windows\Temp\trunc.bin        "0123" after FileEndOfFileInformation, deleted on close
 *                                    (FileDispositionInformation)
 *   C:\Windows\Temp\hvcidir\a.txt    "abc", deleted with ZwDeleteFile
 *
 * Return values (first failure wins):
 *   0xE0000001  the driver's own image \SystemRoot\System32\drivers\files.sys: open, size or "MZ" wrong
 *   0xE0000002  \SystemRoot\System32\ntoskrnl.exe: open or "MZ" wrong
 *   0xE0000003  FILE_CREATE of a new file: status or Information != FILE_CREATED
 *   0xE0000004  ZwWriteFile at the current position: status, Information or position wrong
 *   0xE0000005  FilePositionInformation / FileStandardInformation wrong after writing
 *   0xE0000006  seek + ZwReadFile, ByteOffset read, or STATUS_END_OF_FILE wrong
 *   0xE0000007  FILE_CREATE of an existing name (other case, \DosDevices form):
 *               not STATUS_OBJECT_NAME_COLLISION / FILE_EXISTS
 *   0xE0000008  missing file / missing directory: not STATUS_OBJECT_NAME_NOT_FOUND /
 *               STATUS_OBJECT_PATH_NOT_FOUND
 *   0xE0000009  FileNameInformation wrong
 *   0xE000000A  ObReferenceObjectByHandle: not a FILE_OBJECT with FileName and CurrentByteOffset
 *   0xE000000B  FILE_OVERWRITE_IF / FILE_OPEN_IF Information or content wrong
 *   0xE000000C  FileEndOfFileInformation / ZwQueryFullAttributesFile wrong
 *   0xE000000D  directory create, FILE_DIRECTORY_FILE / FILE_NON_DIRECTORY_FILE checks wrong
 *   0xE000000E  relative create under a directory handle / ZwQueryDirectoryFile wrong
 *   0xE000000F  ZwDeleteFile / FileDispositionInformation did not delete
 *   0xE0000010  ZwReadFile accepted a handle that is not open (never opened, or closed)
 *   0xE0000011  ZwFlushBuffersFile / ZwQueryVolumeInformationFile wrong
 *   0xE0000012  FileBasicInformation set/query or FileRenameInformation wrong
 *   0xE0000013  ZwQueryDirectoryFile with a search expression, FileBothDirectoryInformation and
 *               ReturnSingleEntry wrong
 *   0xE0000014  FileAllInformation / FileAccessInformation (generic rights mapped) / FileModeInformation wrong
 *   0xE0000015  IoCreateFile / IoCreateFileSpecifyDeviceObjectHint / IoCreateFileEx wrong
 */
#include "compat.h"

static NOINLINE BOOLEAN Same(const void *a, const void *b, SIZE_T n)
{
    return RtlCompareMemory(a, b, n) == n;
}

static NTSTATUS Create(PHANDLE h, PCWSTR path, HANDLE root, ACCESS_MASK access, ULONG disposition,
                       ULONG options, PIO_STATUS_BLOCK iosb)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;

    RtlInitUnicodeString(&name, path);
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, root, NULL);
    iosb->Status = 0x12345678;
    iosb->Information = 0x77;
    return ZwCreateFile(h, access, &oa, iosb, NULL, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, disposition,
                        options, NULL, 0);
}

#define RW (GENERIC_READ | GENERIC_WRITE | SYNCHRONIZE)
#define SYNC_FILE (FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE)

static NTSTATUS WriteAll(HANDLE h, const char *text, ULONG n)
{
    IO_STATUS_BLOCK iosb;
    NTSTATUS st = ZwWriteFile(h, NULL, NULL, NULL, &iosb, (PVOID)text, n, NULL, NULL);
    return NT_SUCCESS(st) && iosb.Information == n ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

/* Flush, volume information, attributes, rename and a filtered listing, on the log file. */
static NTSTATUS RunMore(VOID)
{
    HANDLE h, dir;
    IO_STATUS_BLOCK iosb;
    FILE_FS_SIZE_INFORMATION size;
    FILE_FS_DEVICE_INFORMATION device;
    FILE_BASIC_INFORMATION basic;
    FILE_NETWORK_OPEN_INFORMATION net;
    UNICODE_STRING us, pattern;
    OBJECT_ATTRIBUTES oa;
    ULONG renameBuf[32];
    PFILE_RENAME_INFORMATION rename = (PFILE_RENAME_INFORMATION)renameBuf;
    PFILE_BOTH_DIR_INFORMATION both;
    UCHAR dirBuf[512];
    static const WCHAR newName[] = L"renamed.log";
    NTSTATUS st;

    st = Create(&h, L"\\??\\C:\\Windows\\Temp\\hvci_files.log", NULL, RW | DELETE, FILE_OPEN, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS)
        return HV_FAIL(0x11);
    if (ZwFlushBuffersFile(h, &iosb) != STATUS_SUCCESS || iosb.Status != STATUS_SUCCESS)
        return HV_FAIL(0x11);
    st = ZwQueryVolumeInformationFile(h, &iosb, &size, sizeof(size), FileFsSizeInformation);
    if (st != STATUS_SUCCESS || size.BytesPerSector != 512 || size.SectorsPerAllocationUnit * 512 != 4096 ||
        size.AvailableAllocationUnits.QuadPart <= 0 ||
        size.AvailableAllocationUnits.QuadPart > size.TotalAllocationUnits.QuadPart)
        return HV_FAIL(0x11);
    st = ZwQueryVolumeInformationFile(h, &iosb, &device, sizeof(device), FileFsDeviceInformation);
    if (st != STATUS_SUCCESS || device.DeviceType != FILE_DEVICE_DISK)
        return HV_FAIL(0x11);

    /* everything at once; the handle's rights are the generic ones mapped to the file rights */
    {
        static const WCHAR logName[] = L"\\Windows\\Temp\\hvci_files.log";
        PFILE_ALL_INFORMATION all = (PFILE_ALL_INFORMATION)dirBuf;
        FILE_ACCESS_INFORMATION acc;
        FILE_MODE_INFORMATION mode;
        st = ZwQueryInformationFile(h, &iosb, all, sizeof(dirBuf), FileAllInformation);
        if (st != STATUS_SUCCESS || all->StandardInformation.EndOfFile.QuadPart != 11 ||
            all->PositionInformation.CurrentByteOffset.QuadPart != 0 ||
            all->AccessInformation.AccessFlags != (FILE_GENERIC_READ | FILE_GENERIC_WRITE | DELETE) ||
            all->ModeInformation.Mode != FILE_SYNCHRONOUS_IO_NONALERT ||
            all->NameInformation.FileNameLength != sizeof(logName) - sizeof(WCHAR) ||
            RtlCompareMemory(all->NameInformation.FileName, logName, sizeof(logName) - sizeof(WCHAR)) !=
                sizeof(logName) - sizeof(WCHAR) ||
            iosb.Information != FIELD_OFFSET(FILE_ALL_INFORMATION, NameInformation.FileName) + sizeof(logName) - 2)
            return HV_FAIL(0x14);
        if (ZwQueryInformationFile(h, &iosb, all, sizeof(FILE_ALL_INFORMATION), FileAllInformation) !=
                STATUS_BUFFER_OVERFLOW ||
            ZwQueryInformationFile(h, &iosb, all, 64, FileAllInformation) != STATUS_INFO_LENGTH_MISMATCH)
            return HV_FAIL(0x14);
        if (ZwQueryInformationFile(h, &iosb, &acc, sizeof(acc), FileAccessInformation) != STATUS_SUCCESS ||
            !(acc.AccessFlags & FILE_READ_DATA) || !(acc.AccessFlags & SYNCHRONIZE) ||
            ZwQueryInformationFile(h, &iosb, &mode, sizeof(mode), FileModeInformation) != STATUS_SUCCESS ||
            mode.Mode != FILE_SYNCHRONOUS_IO_NONALERT)
            return HV_FAIL(0x14);
    }

    /* attributes: set READONLY|HIDDEN, read them back by handle and by name */
    RtlZeroMemory(&basic, sizeof(basic));
    basic.FileAttributes = FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE;
    if (ZwSetInformationFile(h, &iosb, &basic, sizeof(basic), FileBasicInformation) != STATUS_SUCCESS)
        return HV_FAIL(0x12);
    st = ZwQueryInformationFile(h, &iosb, &basic, sizeof(basic), FileBasicInformation);
    if (st != STATUS_SUCCESS || basic.FileAttributes != (FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE) ||
        iosb.Information != sizeof(basic))
        return HV_FAIL(0x12);

    /* rename within the directory, then find it by its new name */
    rename->ReplaceIfExists = FALSE;
    rename->RootDirectory = NULL;
    rename->FileNameLength = sizeof(newName) - sizeof(WCHAR);
    RtlCopyMemory(rename->FileName, newName, sizeof(newName));
    if (ZwSetInformationFile(h, &iosb, rename, sizeof(renameBuf), FileRenameInformation) != STATUS_SUCCESS)
        return HV_FAIL(0x12);
    ZwClose(h);
    RtlInitUnicodeString(&us, L"\\??\\C:\\Windows\\Temp\\RENAMED.LOG");
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (ZwQueryFullAttributesFile(&oa, &net) != STATUS_SUCCESS || net.EndOfFile.QuadPart != 11)
        return HV_FAIL(0x12);

    /* a filtered listing of Temp, one entry per call */
    st = Create(&dir, L"\\SystemRoot\\Temp", NULL, FILE_LIST_DIRECTORY | SYNCHRONIZE, FILE_OPEN,
                FILE_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, &iosb);
    if (st != STATUS_SUCCESS)
        return HV_FAIL(0x13);
    RtlInitUnicodeString(&pattern, L"*.LOG");
    st = ZwQueryDirectoryFile(dir, NULL, NULL, NULL, &iosb, dirBuf, sizeof(dirBuf), FileBothDirectoryInformation,
                              TRUE, &pattern, TRUE);
    both = (PFILE_BOTH_DIR_INFORMATION)dirBuf;
    if (st != STATUS_SUCCESS || both->NextEntryOffset != 0 || both->EndOfFile.QuadPart != 11 ||
        both->FileNameLength != sizeof(newName) - sizeof(WCHAR) ||
        RtlCompareMemory(both->FileName, newName, both->FileNameLength) != both->FileNameLength ||
        !(both->FileAttributes & FILE_ATTRIBUTE_HIDDEN))
        return HV_FAIL(0x13);
    st = ZwQueryDirectoryFile(dir, NULL, NULL, NULL, &iosb, dirBuf, sizeof(dirBuf), FileBothDirectoryInformation,
                              TRUE, NULL, FALSE);
    ZwClose(dir);
    if (st != STATUS_NO_MORE_FILES)
        return HV_FAIL(0x13);

    /* the I/O manager's own create routines reach the same volume */
    RtlInitUnicodeString(&us, L"\\??\\C:\\Windows\\Temp\\renamed.log");
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    st = IoCreateFile(&h, GENERIC_READ | SYNCHRONIZE, &oa, &iosb, NULL, 0, FILE_SHARE_READ, FILE_OPEN, SYNC_FILE,
                      NULL, 0, CreateFileTypeNone, NULL, IO_NO_PARAMETER_CHECKING);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_OPENED)
        return HV_FAIL(0x15);
    ZwClose(h);
    st = IoCreateFileSpecifyDeviceObjectHint(&h, GENERIC_READ | SYNCHRONIZE, &oa, &iosb, NULL, 0, FILE_SHARE_READ,
                                             FILE_OPEN, SYNC_FILE, NULL, 0, CreateFileTypeNone, NULL, 0, NULL);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_OPENED)
        return HV_FAIL(0x15);
    ZwClose(h);
    RtlInitUnicodeString(&us, L"\\??\\C:\\Windows\\Temp\\nope.log");
    st = IoCreateFileEx(&h, GENERIC_READ | SYNCHRONIZE, &oa, &iosb, NULL, 0, FILE_SHARE_READ, FILE_OPEN, SYNC_FILE,
                        NULL, 0, CreateFileTypeNone, NULL, 0, NULL);
    if (st != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(0x15);
    return STATUS_SUCCESS;
}

static NTSTATUS Run(VOID)
{
    HANDLE h, h2, dir;
    IO_STATUS_BLOCK iosb;
    FILE_STANDARD_INFORMATION std;
    FILE_POSITION_INFORMATION pos;
    FILE_END_OF_FILE_INFORMATION eof;
    FILE_DISPOSITION_INFORMATION disp;
    FILE_NETWORK_OPEN_INFORMATION net;
    LARGE_INTEGER at;
    PFILE_OBJECT fo;
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    ULONG nameBuf[64];
    UCHAR dirBuf[512];
    char buf[32];
    NTSTATUS st;

    /* 1. the driver's own image file */
    st = Create(&h, L"\\SystemRoot\\System32\\drivers\\" HV_NAME_W L".sys", NULL, GENERIC_READ | SYNCHRONIZE,
                FILE_OPEN, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_OPENED)
        return HV_FAIL(1);
    st = ZwQueryInformationFile(h, &iosb, &std, sizeof(std), FileStandardInformation);
    if (st != STATUS_SUCCESS || iosb.Information != sizeof(std) || std.EndOfFile.QuadPart < 0x400 || std.Directory ||
        std.AllocationSize.QuadPart < std.EndOfFile.QuadPart)
        return HV_FAIL(1);
    st = ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, 2, NULL, NULL);
    ZwClose(h);
    if (st != STATUS_SUCCESS || iosb.Information != 2 || buf[0] != 'M' || buf[1] != 'Z')
        return HV_FAIL(1);

    /* 2. the kernel image, through the \??\C: form */
    st = Create(&h, L"\\??\\C:\\Windows\\System32\\ntoskrnl.exe", NULL, GENERIC_READ | SYNCHRONIZE, FILE_OPEN,
                SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS)
        return HV_FAIL(2);
    at.QuadPart = 0;
    st = ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, 2, &at, NULL);
    ZwClose(h);
    if (st != STATUS_SUCCESS || buf[0] != 'M' || buf[1] != 'Z')
        return HV_FAIL(2);

    /* 3. a new log file */
    st = Create(&h, L"\\??\\C:\\Windows\\Temp\\hvci_files.log", NULL, RW, FILE_CREATE, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || iosb.Status != STATUS_SUCCESS || iosb.Information != FILE_CREATED)
        return HV_FAIL(3);

    /* 4. two writes at the current position */
    if (!NT_SUCCESS(WriteAll(h, "hello ", 6)) || !NT_SUCCESS(WriteAll(h, "world", 5)))
        return HV_FAIL(4);

    /* 5. where the file pointer is, how big the file is */
    st = ZwQueryInformationFile(h, &iosb, &pos, sizeof(pos), FilePositionInformation);
    if (st != STATUS_SUCCESS || pos.CurrentByteOffset.QuadPart != 11)
        return HV_FAIL(5);
    st = ZwQueryInformationFile(h, &iosb, &std, sizeof(std), FileStandardInformation);
    if (st != STATUS_SUCCESS || std.EndOfFile.QuadPart != 11 || std.AllocationSize.QuadPart != 4096 ||
        std.NumberOfLinks != 1 || std.DeletePending || std.Directory)
        return HV_FAIL(5);
    if (ZwQueryInformationFile(h, &iosb, &std, 4, FileStandardInformation) != STATUS_INFO_LENGTH_MISMATCH)
        return HV_FAIL(5);

    /* 6. seek, read, read past the end, read at an explicit offset */
    pos.CurrentByteOffset.QuadPart = 6;
    if (ZwSetInformationFile(h, &iosb, &pos, sizeof(pos), FilePositionInformation) != STATUS_SUCCESS)
        return HV_FAIL(6);
    st = ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL);
    if (st != STATUS_SUCCESS || iosb.Information != 5 || !Same(buf, "world", 5))
        return HV_FAIL(6);
    st = ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, sizeof(buf), NULL, NULL);
    if (st != STATUS_END_OF_FILE || iosb.Status != STATUS_END_OF_FILE || iosb.Information != 0)
        return HV_FAIL(6);
    at.QuadPart = 0;
    st = ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, 5, &at, NULL);
    if (st != STATUS_SUCCESS || iosb.Information != 5 || !Same(buf, "hello", 5))
        return HV_FAIL(6);

    /* 7. the same name again, in another case and spelling: a collision */
    st = Create(&h2, L"\\DosDevices\\c:\\WINDOWS\\temp\\HVCI_FILES.LOG", NULL, RW, FILE_CREATE, SYNC_FILE, &iosb);
    if (st != STATUS_OBJECT_NAME_COLLISION || iosb.Information != FILE_EXISTS)
        return HV_FAIL(7);

    /* 8. what is not there */
    if (Create(&h2, L"\\??\\C:\\Windows\\Temp\\missing.txt", NULL, RW, FILE_OPEN, SYNC_FILE, &iosb) !=
            STATUS_OBJECT_NAME_NOT_FOUND ||
        Create(&h2, L"\\??\\C:\\Windows\\NoSuchDir\\missing.txt", NULL, RW, FILE_OPEN, SYNC_FILE, &iosb) !=
            STATUS_OBJECT_PATH_NOT_FOUND ||
        Create(&h2, L"\\??\\C:\\Windows\\Temp\\hvci_files.log\\sub", NULL, RW, FILE_OPEN_IF, SYNC_FILE, &iosb) !=
            STATUS_OBJECT_PATH_NOT_FOUND)
        return HV_FAIL(8);

    /* 9. the name below the volume root */
    st = ZwQueryInformationFile(h, &iosb, nameBuf, sizeof(nameBuf), FileNameInformation);
    {
        PFILE_NAME_INFORMATION ni = (PFILE_NAME_INFORMATION)nameBuf;
        static const WCHAR expect[] = L"\\Windows\\Temp\\hvci_files.log";
        if (st != STATUS_SUCCESS || ni->FileNameLength != sizeof(expect) - sizeof(WCHAR) ||
            !Same(ni->FileName, expect, sizeof(expect) - sizeof(WCHAR)))
            return HV_FAIL(9);
        st = ZwQueryInformationFile(h, &iosb, nameBuf, 12, FileNameInformation);
        if (st != STATUS_BUFFER_OVERFLOW || ni->FileNameLength != sizeof(expect) - sizeof(WCHAR) ||
            iosb.Information != 12)
            return HV_FAIL(9);
    }

    /* 10. the FILE_OBJECT behind the handle */
    st = ObReferenceObjectByHandle(h, FILE_READ_DATA, *IoFileObjectType, KernelMode, (PVOID *)&fo, NULL);
    if (st != STATUS_SUCCESS || fo->Type != IO_TYPE_FILE || fo->Size != sizeof(FILE_OBJECT) ||
        fo->CurrentByteOffset.QuadPart != 5 || !(fo->Flags & FO_SYNCHRONOUS_IO) || !fo->ReadAccess ||
        !fo->WriteAccess)
        return HV_FAIL(10);
    RtlInitUnicodeString(&us, L"\\Windows\\Temp\\hvci_files.log");
    if (!RtlEqualUnicodeString(&fo->FileName, &us, TRUE)) {
        ObDereferenceObject(fo);
        return HV_FAIL(10);
    }
    ObDereferenceObject(fo);
    ZwClose(h);

    /* 11. FILE_OPEN_IF opens, FILE_OVERWRITE_IF empties */
    st = Create(&h, L"\\SystemRoot\\Temp\\overwrite.txt", NULL, RW, FILE_OPEN_IF, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_CREATED || !NT_SUCCESS(WriteAll(h, "first", 5)))
        return HV_FAIL(11);
    ZwClose(h);
    st = Create(&h, L"\\SystemRoot\\Temp\\overwrite.txt", NULL, RW, FILE_OPEN_IF, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_OPENED)
        return HV_FAIL(11);
    ZwClose(h);
    st = Create(&h, L"\\Device\\HarddiskVolume3\\Windows\\Temp\\overwrite.txt", NULL, RW, FILE_OVERWRITE_IF,
                SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_OVERWRITTEN)
        return HV_FAIL(11);
    st = ZwQueryInformationFile(h, &iosb, &std, sizeof(std), FileStandardInformation);
    if (st != STATUS_SUCCESS || std.EndOfFile.QuadPart != 0 || !NT_SUCCESS(WriteAll(h, "second", 6)))
        return HV_FAIL(11);
    ZwClose(h);

    /* 12. truncate, then query by name */
    st = Create(&h, L"\\??\\C:\\Windows\\Temp\\trunc.bin", NULL, RW | DELETE, FILE_SUPERSEDE, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_CREATED || !NT_SUCCESS(WriteAll(h, "0123456789", 10)))
        return HV_FAIL(12);
    eof.EndOfFile.QuadPart = 4;
    if (ZwSetInformationFile(h, &iosb, &eof, sizeof(eof), FileEndOfFileInformation) != STATUS_SUCCESS)
        return HV_FAIL(12);
    RtlInitUnicodeString(&us, L"\\??\\C:\\Windows\\Temp\\TRUNC.BIN");
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    st = ZwQueryFullAttributesFile(&oa, &net);
    if (st != STATUS_SUCCESS || net.EndOfFile.QuadPart != 4 || !(net.FileAttributes & FILE_ATTRIBUTE_ARCHIVE) ||
        (net.FileAttributes & FILE_ATTRIBUTE_DIRECTORY))
        return HV_FAIL(12);
    /* delete on close: the file stays until the handle closes */
    disp.DeleteFile = TRUE;
    if (ZwSetInformationFile(h, &iosb, &disp, sizeof(disp), FileDispositionInformation) != STATUS_SUCCESS)
        return HV_FAIL(15);
    st = ZwQueryInformationFile(h, &iosb, &std, sizeof(std), FileStandardInformation);
    if (st != STATUS_SUCCESS || !std.DeletePending)
        return HV_FAIL(15);
    ZwClose(h);
    if (ZwQueryFullAttributesFile(&oa, &net) != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(15);

    /* 13. directories */
    st = Create(&dir, L"\\??\\C:\\Windows\\Temp\\hvcidir", NULL, GENERIC_READ | SYNCHRONIZE, FILE_CREATE,
                FILE_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, &iosb);
    if (st != STATUS_SUCCESS || iosb.Information != FILE_CREATED)
        return HV_FAIL(13);
    if (Create(&h2, L"\\??\\C:\\Windows\\Temp\\hvcidir", NULL, RW, FILE_OPEN, SYNC_FILE, &iosb) !=
            STATUS_FILE_IS_A_DIRECTORY ||
        Create(&h2, L"\\??\\C:\\Windows\\Temp\\overwrite.txt", NULL, RW, FILE_OPEN, FILE_DIRECTORY_FILE, &iosb) !=
            STATUS_NOT_A_DIRECTORY)
        return HV_FAIL(13);

    /* 14. a file relative to the directory handle, then the directory's listing */
    st = Create(&h, L"a.txt", dir, RW, FILE_CREATE, SYNC_FILE, &iosb);
    if (st != STATUS_SUCCESS || !NT_SUCCESS(WriteAll(h, "abc", 3)))
        return HV_FAIL(14);
    ZwClose(h);
    st = ZwQueryDirectoryFile(dir, NULL, NULL, NULL, &iosb, dirBuf, sizeof(dirBuf), FileNamesInformation, FALSE,
                              NULL, TRUE);
    {
        PFILE_NAMES_INFORMATION e = (PFILE_NAMES_INFORMATION)dirBuf;
        if (st != STATUS_SUCCESS || e->FileNameLength != 2 || e->FileName[0] != L'.' || e->NextEntryOffset == 0)
            return HV_FAIL(14);
        e = (PFILE_NAMES_INFORMATION)((PUCHAR)e + e->NextEntryOffset);
        if (e->FileNameLength != 4 || e->NextEntryOffset == 0)
            return HV_FAIL(14);
        e = (PFILE_NAMES_INFORMATION)((PUCHAR)e + e->NextEntryOffset);
        if (e->FileNameLength != 10 || !Same(e->FileName, L"a.txt", 10) || e->NextEntryOffset != 0)
            return HV_FAIL(14);
    }
    if (ZwQueryDirectoryFile(dir, NULL, NULL, NULL, &iosb, dirBuf, sizeof(dirBuf), FileNamesInformation, FALSE,
                             NULL, FALSE) != STATUS_NO_MORE_FILES)
        return HV_FAIL(14);

    /* 15. ZwDeleteFile */
    RtlInitUnicodeString(&us, L"\\??\\C:\\Windows\\Temp\\hvcidir\\A.TXT");
    InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (ZwDeleteFile(&oa) != STATUS_SUCCESS || ZwQueryFullAttributesFile(&oa, &net) != STATUS_OBJECT_NAME_NOT_FOUND)
        return HV_FAIL(15);
    ZwClose(dir);

    /* 16. handles that are not file handles */
    if (ZwReadFile((HANDLE)(ULONG_PTR)0xFFFFFFFF80000FF0ull, NULL, NULL, NULL, &iosb, buf, 1, NULL, NULL) !=
            STATUS_INVALID_HANDLE ||
        ZwReadFile(dir, NULL, NULL, NULL, &iosb, buf, 1, NULL, NULL) != STATUS_INVALID_HANDLE)
        return HV_FAIL(16);
    return RunMore();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    st = Run();
    DbgPrint("files: 0x%08X\n", st);
    return st;
}
