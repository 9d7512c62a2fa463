/* wdfldr.sys (the KMDF loader): hand-written prototypes for rootfs/make_prototypes.py.
 *
 * rootfs has no export list for wdfldr.sys, so this file alone lists its routines. Source: the loader
 * interface header wdfldr.h of Microsoft's open-source KMDF (github.com/microsoft/Windows-Driver-Frameworks);
 * the WDF_* structures are only passed by address here and stay incomplete.
 */
typedef struct _WDF_BIND_INFO *PWDF_BIND_INFO;
typedef struct _WDF_COMPONENT_GLOBALS *PWDF_COMPONENT_GLOBALS;
typedef struct _WDF_INTERFACE_HEADER *PWDF_INTERFACE_HEADER;
typedef struct _WDF_CLASS_BIND_INFO *PWDF_CLASS_BIND_INFO;

NTSTATUS NTAPI WdfVersionBind(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
                              PWDF_BIND_INFO BindInfo, PWDF_COMPONENT_GLOBALS *ComponentGlobals);
NTSTATUS NTAPI WdfVersionUnbind(PUNICODE_STRING RegistryPath, PWDF_BIND_INFO BindInfo,
                                PWDF_COMPONENT_GLOBALS ComponentGlobals);
NTSTATUS NTAPI WdfVersionBindClass(PWDF_BIND_INFO BindInfo, PWDF_COMPONENT_GLOBALS Globals,
                                   PWDF_CLASS_BIND_INFO ClassBindInfo);
VOID NTAPI WdfVersionUnbindClass(PWDF_BIND_INFO BindInfo, PWDF_COMPONENT_GLOBALS Globals,
                                 PWDF_CLASS_BIND_INFO ClassBindInfo);
NTSTATUS NTAPI WdfLdrQueryInterface(PWDF_INTERFACE_HEADER LoaderInterface);
