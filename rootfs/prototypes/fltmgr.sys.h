/* fltmgr.sys (the filter manager): hand-written prototypes for rootfs/make_prototypes.py, for routines
 * Wine's ddk/fltkernel.h does not declare. Source: Microsoft's fltkernel.h reference,
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/fltkernel/nf-fltkernel-<name in lower case>
 * (the callback types: .../fltkernel/nc-fltkernel-pflt_connect_notify etc.). Opaque objects stay
 * incomplete structures.
 */
typedef struct _FLT_PORT *PFLT_PORT;
typedef struct _FLT_FILE_NAME_INFORMATION *PFLT_FILE_NAME_INFORMATION;
typedef NTSTATUS (NTAPI *PFLT_CONNECT_NOTIFY)(PFLT_PORT ClientPort, PVOID ServerPortCookie, PVOID ConnectionContext,
                                              ULONG SizeOfContext, PVOID *ConnectionPortCookie);
typedef VOID (NTAPI *PFLT_DISCONNECT_NOTIFY)(PVOID ConnectionCookie);
typedef NTSTATUS (NTAPI *PFLT_MESSAGE_NOTIFY)(PVOID PortCookie, PVOID InputBuffer, ULONG InputBufferLength,
                                              PVOID OutputBuffer, ULONG OutputBufferLength,
                                              PULONG ReturnOutputBufferLength);

/* minifilter communication ports */
NTSTATUS NTAPI FltBuildDefaultSecurityDescriptor(PSECURITY_DESCRIPTOR *SecurityDescriptor, ACCESS_MASK DesiredAccess);
VOID NTAPI FltFreeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor);
NTSTATUS NTAPI FltCreateCommunicationPort(PFLT_FILTER Filter, PFLT_PORT *ServerPort, POBJECT_ATTRIBUTES ObjectAttributes,
                                          PVOID ServerPortCookie, PFLT_CONNECT_NOTIFY ConnectNotifyCallback,
                                          PFLT_DISCONNECT_NOTIFY DisconnectNotifyCallback,
                                          PFLT_MESSAGE_NOTIFY MessageNotifyCallback, LONG MaxConnections);
VOID NTAPI FltCloseCommunicationPort(PFLT_PORT ServerPort);
VOID NTAPI FltCloseClientPort(PFLT_FILTER Filter, PFLT_PORT *ClientPort);
NTSTATUS NTAPI FltSendMessage(PFLT_FILTER Filter, PFLT_PORT *ClientPort, PVOID SenderBuffer, ULONG SenderBufferLength,
                              PVOID ReplyBuffer, PULONG ReplyLength, PLARGE_INTEGER Timeout);

/* memory and contexts */
PVOID NTAPI FltAllocatePoolAlignedWithTag(PFLT_INSTANCE Instance, POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
VOID NTAPI FltFreePoolAlignedWithTag(PFLT_INSTANCE Instance, PVOID Buffer, ULONG Tag);
NTSTATUS NTAPI FltAllocateContext(PFLT_FILTER Filter, FLT_CONTEXT_TYPE ContextType, SIZE_T ContextSize,
                                  POOL_TYPE PoolType, PFLT_CONTEXT *ReturnedContext);
VOID NTAPI FltReleaseContext(PFLT_CONTEXT Context);

/* file names */
NTSTATUS NTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData, FLT_FILE_NAME_OPTIONS NameOptions,
                                         PFLT_FILE_NAME_INFORMATION *FileNameInformation);
VOID NTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
NTSTATUS NTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
