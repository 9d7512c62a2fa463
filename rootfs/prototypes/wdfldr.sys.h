/* wdfldr.sys (the KMDF loader): hand-written prototypes for rootfs/make_prototypes.py.
 *
 * The routines are rootfs/exports/wdfldr.sys.txt's. Source: the loader interface header wdfldr.h of
 * Microsoft's open-source KMDF (github.com/microsoft/Windows-Driver-Frameworks), and its
 * src/framework/shared/inc/private/common/fxldr.h for WdfRegisterLibrary; DllInitialize and DllUnload as
 * every export driver has them (learn.microsoft.com/windows-hardware/drivers/kernel/creating-export-drivers).
 * The WDF_* structures are only passed by address here and stay incomplete. WdfRegisterClassLibrary and
 * WdfLdrDiagnosticsValueByNameAsULONG have no public prototype: they stay undeclared.
 */
typedef struct _WDF_BIND_INFO *PWDF_BIND_INFO;
typedef struct _WDF_COMPONENT_GLOBALS *PWDF_COMPONENT_GLOBALS;
typedef struct _WDF_INTERFACE_HEADER *PWDF_INTERFACE_HEADER;
typedef struct _WDF_CLASS_BIND_INFO *PWDF_CLASS_BIND_INFO;
typedef struct _WDF_LIBRARY_INFO *PWDF_LIBRARY_INFO;

NTSTATUS NTAPI WdfVersionBind(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
                              PWDF_BIND_INFO BindInfo, PWDF_COMPONENT_GLOBALS *ComponentGlobals);
NTSTATUS NTAPI WdfVersionUnbind(PUNICODE_STRING RegistryPath, PWDF_BIND_INFO BindInfo,
                                PWDF_COMPONENT_GLOBALS ComponentGlobals);
NTSTATUS NTAPI WdfVersionBindClass(PWDF_BIND_INFO BindInfo, PWDF_COMPONENT_GLOBALS Globals,
                                   PWDF_CLASS_BIND_INFO ClassBindInfo);
VOID NTAPI WdfVersionUnbindClass(PWDF_BIND_INFO BindInfo, PWDF_COMPONENT_GLOBALS Globals,
                                 PWDF_CLASS_BIND_INFO ClassBindInfo);
NTSTATUS NTAPI WdfLdrQueryInterface(PWDF_INTERFACE_HEADER LoaderInterface);
NTSTATUS NTAPI WdfRegisterLibrary(PWDF_LIBRARY_INFO LibraryInfo, PUNICODE_STRING ServicePath,
                                  PCUNICODE_STRING LibraryDeviceName);
NTSTATUS NTAPI DllInitialize(PUNICODE_STRING RegistryPath);
NTSTATUS NTAPI DllUnload(VOID);
