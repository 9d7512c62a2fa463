/*
 * flt_compat.h - the part of the WDK's fltKernel.h that the minifilter test
 * drivers use, which the MinGW-w64 headers do not have.
 *
 * Written from Microsoft's fltkernel DDI reference (MicrosoftDocs/
 * windows-driver-docs-ddi, wdk-ddi-src/content/fltkernel/): the structure
 * layouts of FLT_REGISTRATION, FLT_OPERATION_REGISTRATION,
 * FLT_CONTEXT_REGISTRATION, FLT_FILE_NAME_INFORMATION, the fixed parts of
 * FLT_CALLBACK_DATA and FLT_IO_PARAMETER_BLOCK, and the routines' prototypes.
 * Every routine is imported from fltmgr.sys (dllimport, so each call is
 * `call qword ptr [rip+__imp_X]`); fltmgr.def lists them for dlltool.
 */
#ifndef HVCI_TEST_FLT_COMPAT_H
#define HVCI_TEST_FLT_COMPAT_H

#include "compat.h"

typedef struct _FLT_FILTER *PFLT_FILTER;
typedef struct _FLT_INSTANCE *PFLT_INSTANCE;
typedef struct _FLT_VOLUME *PFLT_VOLUME;
typedef struct _FLT_PORT *PFLT_PORT;
typedef PVOID PFLT_CONTEXT;
typedef USHORT FLT_CONTEXT_TYPE;
typedef ULONG FLT_FILTER_UNLOAD_FLAGS;
typedef ULONG FLT_FILE_NAME_OPTIONS;
typedef int FLT_SET_CONTEXT_OPERATION;

#define FLT_REGISTRATION_VERSION       0x0203
#define IRP_MJ_OPERATION_END           ((UCHAR)0x80)
#define FLT_CONTEXT_END                0xffff
#define FLT_VOLUME_CONTEXT             0x0001
#define FLT_INSTANCE_CONTEXT           0x0002
#define FLT_STREAM_CONTEXT             0x0008
#define FLT_SET_CONTEXT_REPLACE_IF_EXISTS 0
#define FLT_SET_CONTEXT_KEEP_IF_EXISTS    1
#define FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO 0x00000001
#define FLT_PORT_CONNECT               0x0001
#define FLT_PORT_ALL_ACCESS            (FLT_PORT_CONNECT | STANDARD_RIGHTS_ALL)
#define FLT_FILE_NAME_NORMALIZED       0x01
#define FLT_FILE_NAME_QUERY_DEFAULT    0x0100
#define FLTFL_CALLBACK_DATA_IRP_OPERATION 0x00000001
#define FLTFL_CALLBACK_DATA_FAST_IO_OPERATION 0x00000002
#define FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT 0x0001
#define FLTFL_FILE_NAME_PARSED_EXTENSION 0x0002
#define FLTFL_FILE_NAME_PARSED_STREAM  0x0004
#define FLTFL_FILE_NAME_PARSED_PARENT_DIR 0x0008

/* Only the members these drivers read or write, at their documented offsets. */
typedef struct _FLT_IO_PARAMETER_BLOCK {
    ULONG IrpFlags;
    UCHAR MajorFunction;
    UCHAR MinorFunction;
    UCHAR OperationFlags;
    UCHAR Reserved;
    PFILE_OBJECT TargetFileObject;
    PFLT_INSTANCE TargetInstance;
    union {                              /* FLT_PARAMETERS: only the view used here */
        struct {
            ULONG OutputBufferLength;
            ULONG POINTER_ALIGNMENT InputBufferLength;
            ULONG POINTER_ALIGNMENT IoControlCode;
            PVOID Type3InputBuffer;
        } DeviceIoControl;
        UCHAR Raw[0x28];
    } Parameters;
} FLT_IO_PARAMETER_BLOCK, *PFLT_IO_PARAMETER_BLOCK;

typedef struct _FLT_CALLBACK_DATA {
    ULONG Flags;
    PETHREAD Thread;
    PFLT_IO_PARAMETER_BLOCK Iopb;
    IO_STATUS_BLOCK IoStatus;
    /* TagData, queue links, RequestorMode follow: not used here */
} FLT_CALLBACK_DATA, *PFLT_CALLBACK_DATA;

typedef struct _FLT_RELATED_OBJECTS *PCFLT_RELATED_OBJECTS;

typedef int FLT_PREOP_CALLBACK_STATUS;
typedef int FLT_POSTOP_CALLBACK_STATUS;
#define FLT_PREOP_SUCCESS_WITH_CALLBACK 0
#define FLT_PREOP_SUCCESS_NO_CALLBACK   1
#define FLT_POSTOP_FINISHED_PROCESSING  0

typedef FLT_PREOP_CALLBACK_STATUS (NTAPI *PFLT_PRE_OPERATION_CALLBACK)(
    PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext);
typedef FLT_POSTOP_CALLBACK_STATUS (NTAPI *PFLT_POST_OPERATION_CALLBACK)(
    PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext, ULONG Flags);
typedef NTSTATUS (NTAPI *PFLT_FILTER_UNLOAD_CALLBACK)(FLT_FILTER_UNLOAD_FLAGS Flags);
typedef NTSTATUS (NTAPI *PFLT_INSTANCE_SETUP_CALLBACK)(PCFLT_RELATED_OBJECTS FltObjects, ULONG Flags,
                                                       DEVICE_TYPE VolumeDeviceType, int VolumeFilesystemType);
typedef NTSTATUS (NTAPI *PFLT_CONNECT_NOTIFY)(PFLT_PORT ClientPort, PVOID ServerPortCookie,
                                              PVOID ConnectionContext, ULONG SizeOfContext,
                                              PVOID *ConnectionPortCookie);
typedef VOID (NTAPI *PFLT_DISCONNECT_NOTIFY)(PVOID ConnectionCookie);
typedef NTSTATUS (NTAPI *PFLT_MESSAGE_NOTIFY)(PVOID PortCookie, PVOID InputBuffer, ULONG InputBufferLength,
                                              PVOID OutputBuffer, ULONG OutputBufferLength,
                                              PULONG ReturnOutputBufferLength);

typedef struct _FLT_OPERATION_REGISTRATION {
    UCHAR MajorFunction;
    ULONG Flags;
    PFLT_PRE_OPERATION_CALLBACK PreOperation;
    PFLT_POST_OPERATION_CALLBACK PostOperation;
    PVOID Reserved1;
} FLT_OPERATION_REGISTRATION;

typedef struct _FLT_CONTEXT_REGISTRATION {
    FLT_CONTEXT_TYPE ContextType;
    USHORT Flags;
    PVOID ContextCleanupCallback;
    SIZE_T Size;
    ULONG PoolTag;
    PVOID ContextAllocateCallback;
    PVOID ContextFreeCallback;
    PVOID Reserved1;
} FLT_CONTEXT_REGISTRATION;

typedef struct _FLT_REGISTRATION {
    USHORT Size;
    USHORT Version;
    ULONG Flags;
    const FLT_CONTEXT_REGISTRATION *ContextRegistration;
    const FLT_OPERATION_REGISTRATION *OperationRegistration;
    PFLT_FILTER_UNLOAD_CALLBACK FilterUnloadCallback;
    PFLT_INSTANCE_SETUP_CALLBACK InstanceSetupCallback;
    PVOID InstanceQueryTeardownCallback;
    PVOID InstanceTeardownStartCallback;
    PVOID InstanceTeardownCompleteCallback;
    PVOID GenerateFileNameCallback;
    PVOID NormalizeNameComponentCallback;
    PVOID NormalizeContextCleanupCallback;
    PVOID TransactionNotificationCallback;
    PVOID NormalizeNameComponentExCallback;
    PVOID SectionNotificationCallback;
} FLT_REGISTRATION;

typedef struct _FLT_FILE_NAME_INFORMATION {
    USHORT Size;
    USHORT NamesParsed;
    FLT_FILE_NAME_OPTIONS Format;
    UNICODE_STRING Name;
    UNICODE_STRING Volume;
    UNICODE_STRING Share;
    UNICODE_STRING Extension;
    UNICODE_STRING Stream;
    UNICODE_STRING FinalComponent;
    UNICODE_STRING ParentDir;
} FLT_FILE_NAME_INFORMATION, *PFLT_FILE_NAME_INFORMATION;

IMPORT NTSTATUS NTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, const FLT_REGISTRATION *Registration,
                                        PFLT_FILTER *RetFilter);
IMPORT NTSTATUS NTAPI FltStartFiltering(PFLT_FILTER Filter);
IMPORT VOID NTAPI FltUnregisterFilter(PFLT_FILTER Filter);
IMPORT NTSTATUS NTAPI FltBuildDefaultSecurityDescriptor(PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                        ACCESS_MASK DesiredAccess);
IMPORT VOID NTAPI FltFreeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor);
IMPORT NTSTATUS NTAPI FltCreateCommunicationPort(PFLT_FILTER Filter, PFLT_PORT *ServerPort,
                                                 POBJECT_ATTRIBUTES ObjectAttributes, PVOID ServerPortCookie,
                                                 PFLT_CONNECT_NOTIFY ConnectNotifyCallback,
                                                 PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback,
                                                 PFLT_MESSAGE_NOTIFY MessageNotifyCallback, LONG MaxConnections);
IMPORT VOID NTAPI FltCloseCommunicationPort(PFLT_PORT ServerPort);
IMPORT VOID NTAPI FltCloseClientPort(PFLT_FILTER Filter, PFLT_PORT *ClientPort);
IMPORT NTSTATUS NTAPI FltSendMessage(PFLT_FILTER Filter, PFLT_PORT *ClientPort, PVOID SenderBuffer,
                                     ULONG SenderBufferLength, PVOID ReplyBuffer, PULONG ReplyLength,
                                     PLARGE_INTEGER Timeout);
IMPORT NTSTATUS NTAPI FltEnumerateInstances(PFLT_VOLUME Volume, PFLT_FILTER Filter, PFLT_INSTANCE *InstanceList,
                                            ULONG InstanceListSize, PULONG NumberInstancesReturned);
IMPORT NTSTATUS NTAPI FltEnumerateFilters(PFLT_FILTER *FilterList, ULONG FilterListSize,
                                          PULONG NumberFiltersReturned);
IMPORT NTSTATUS NTAPI FltGetFilterFromName(PCUNICODE_STRING FilterName, PFLT_FILTER *RetFilter);
IMPORT NTSTATUS NTAPI FltObjectReference(PVOID FltObject);
IMPORT VOID NTAPI FltObjectDereference(PVOID FltObject);
IMPORT PVOID NTAPI FltGetRoutineAddress(PCSTR FltMgrRoutineName);
IMPORT PVOID NTAPI FltAllocatePoolAlignedWithTag(PFLT_INSTANCE Instance, POOL_TYPE PoolType,
                                                 SIZE_T NumberOfBytes, ULONG Tag);
IMPORT VOID NTAPI FltFreePoolAlignedWithTag(PFLT_INSTANCE Instance, PVOID Buffer, ULONG Tag);
IMPORT NTSTATUS NTAPI FltAllocateContext(PFLT_FILTER Filter, FLT_CONTEXT_TYPE ContextType, SIZE_T ContextSize,
                                         POOL_TYPE PoolType, PFLT_CONTEXT *ReturnedContext);
IMPORT VOID NTAPI FltReleaseContext(PFLT_CONTEXT Context);
IMPORT VOID NTAPI FltReferenceContext(PFLT_CONTEXT Context);
IMPORT VOID NTAPI FltDeleteContext(PFLT_CONTEXT Context);
IMPORT NTSTATUS NTAPI FltSetInstanceContext(PFLT_INSTANCE Instance, FLT_SET_CONTEXT_OPERATION Operation,
                                            PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext);
IMPORT NTSTATUS NTAPI FltGetInstanceContext(PFLT_INSTANCE Instance, PFLT_CONTEXT *Context);
IMPORT NTSTATUS NTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData, FLT_FILE_NAME_OPTIONS NameOptions,
                                                PFLT_FILE_NAME_INFORMATION *FileNameInformation);
IMPORT NTSTATUS NTAPI FltGetFileNameInformationUnsafe(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
                                                      FLT_FILE_NAME_OPTIONS NameOptions,
                                                      PFLT_FILE_NAME_INFORMATION *FileNameInformation);
IMPORT NTSTATUS NTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
IMPORT VOID NTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
IMPORT VOID NTAPI FltReferenceFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
IMPORT BOOLEAN NTAPI FltIsOperationSynchronous(PFLT_CALLBACK_DATA CallbackData);

#endif /* HVCI_TEST_FLT_COMPAT_H */
