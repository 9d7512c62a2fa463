"""The emulated Windows kernel a driver runs against: modules, processor state, objects, calls.

Builds, on an `emu.Machine`: ntoskrnl.exe and hal.dll as real in-memory PE images whose exports
are API stubs bound to the handlers declared with `hooks.api.export` (or to `hooks.standins`);
KUSER_SHARED_DATA; a KPCR whose KPRCB names the current thread of the System process; a kernel
stack with a guard page; and the loaded-module list. `load_driver` maps a driver and builds its
DRIVER_OBJECT; `call` runs any driver routine until it returns to the kernel.
"""
from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import rootfs
from emu.dispatch import StubArea
from emu.kmodule import BuiltModule, ModuleSpec, build_module
from emu.loader import LoadedImage, Startup, map_image, security_cookie
from emu.machine import Machine, Stop
from emu.memory import PAGE, PROT_R, PROT_RW, PTE_NX, PTE_P, PTE_U, AddressSpace, page_ceil, poke
from emu.pe import Import, PeImage
from hooks import kstructs as ks
from hooks import catalog, crt, dispatcher, ke, memory, security  # noqa: F401  (catalog registers every handler)
from hooks.dbg import DebugLog
from hooks.deferred import DeferredWork
from hooks.scheduler import Scheduler
from hooks.errorlog import ErrorLog
from hooks.etw import Etw
from hooks.callbacks import Callbacks
from hooks.guard import GUARD_ROUTINES
from hooks.irp import IoManager
from hooks.api import EXPORTS, Export, make_routine
from hooks.events import Events
from hooks.flt.manager import FilterManager
from hooks.fsrtl import FileSystemRegistrations
from hooks.ndis.state import Ndis
from hooks.pnp import DeviceInterfaces
from hooks.wfp import FilterEngine
from hooks.wpp import InflightRecorder
from hooks.cng import SystemRandom
from hooks.volume import FileSystem
from hooks.wdf.framework import Framework
from hooks.pool import PoolAllocator
from hooks.registry import Registry
from hooks.objects import HandleTable
from hooks.object import ObjectTypes
from hooks.standins import StandIns, Unimplemented

if TYPE_CHECKING:
    from hooks.state import KernelSnapshot

# Kernel virtual address layout (all canonical, all in the upper half but the user range).
MODULES_BASE = 0xFFFFF8034A600000      # ntoskrnl.exe, hal.dll, then stub modules (stub area: see __init__)
MODULES_SPAN = 0x04000000
DRIVERS_BASE = 0xFFFFF8035C000000      # loaded drivers, 16 MiB apart
KERNEL_DATA = 0xFFFFF80350000000       # KPCR, threads, processes, object types
STACK_BASE = 0xFFFFE58000000000        # guard page, then the kernel stack; each system thread's follow
KERNEL_STACK_SIZE = 0x6000
STACK_STRIDE = 0x10000                 # one guard page and kernel stack per thread, thread n at n * STRIDE
KUSER_SHARED_DATA = 0xFFFFF78000000000
KUSER_SHARED_DATA_USER = 0x7FFE0000
KERNEL_HANDLE_BIT = 0xFFFFFFFF80000000

STATUS_SUCCESS = 0
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010

ON_DEMAND_MODULES = set(rootfs.known_modules()) - {"ntoskrnl.exe", "hal.dll"}
# Routines implemented in machine code: IRQL, CFG guard stand-ins, the C runtime's callers-back.
NATIVE_ROUTINES = {**ke.NATIVE_ROUTINES, **GUARD_ROUTINES, **crt.NATIVE_ROUTINES}
# ntoskrnl routines a driver never imports but is handed pointers to (MajorFunction slots, PDOs, CSQ).
INTERNAL_ROUTINES = ["KiReturnTrap", "IopInvalidDeviceRequest", "KiSetIrql", *GUARD_ROUTINES, "IopPnPDispatch",
                     "IopBusCreateClose", "IopCsqCancelRoutine"]

# Data exports and their sizes (bytes) where larger than a pointer.
_VARIABLE_SIZES = {"KeTickCount": 16, "PsLoadedModuleList": 16, "PsLoadedModuleResource": 0x68,
                   "SeExports": 8, "NtBuildLab": 8, "NlsMbCodePageTag": 1}


@dataclass
class DriverContext:
    """A loaded driver: its image, DRIVER_OBJECT and registry path, as the kernel handed them over."""

    image: LoadedImage
    name: str
    driver_object: int
    registry_path: int
    ldr_entry: int


_BUILT: dict[str, tuple[BuiltModule, PeImage]] = {}


def _built(spec: ModuleSpec) -> tuple[BuiltModule, PeImage]:
    """A synthesized module's image and its parse, built once per process for each distinct spec:
    kernels share them (the image bytes are copied into each kernel's memory; neither is changed)."""
    key = repr(spec)
    if key not in _BUILT:
        built = build_module(spec)
        _BUILT[key] = built, PeImage.parse(built.image, spec.name)
    return _BUILT[key]


def stack_guard(address: int) -> int:
    """The guard page of the kernel stack `address` lies in (or in whose guard page it lies); the
    first stack's for an address below them all."""
    return STACK_BASE + max(0, address - STACK_BASE) // STACK_STRIDE * STACK_STRIDE


def _import_key(imp: Import) -> str:
    """An import's name in the export tables; by-ordinal imports get '#n'."""
    return imp.name if imp.name is not None else f"#{imp.ordinal}"


class Kernel:
    def __init__(self, profile: str = rootfs.DEFAULT_PROFILE):
        self.profile = rootfs.profile(profile)
        self.machine = Machine()
        self.mem: AddressSpace = self.machine.mem
        self.events = Events()
        self.current_export: Export | None = None
        self.debug = DebugLog()
        self.uuid_sequence = 0
        self.unimplemented: dict[str, Unimplemented] = {}
        self.on_unimplemented: Callable[[Unimplemented], None] | None = None
        self.standins = StandIns(self)
        self.modules: dict[str, LoadedImage] = {}
        self.module_exports: dict[str, dict[str, int]] = {}
        self.stub_names: dict[int, str] = {}
        self.drivers: list[DriverContext] = []
        self.handles = HandleTable()
        self.regs = (0, 0, 0, 0, 0)                 # raw argument registers + RSP of the current call
        self.object_names: dict[str, int] = {}     # \Device\X -> DEVICE_OBJECT
        self.devices: dict[int, str | None] = {}
        self.symlinks: dict[str, str] = {}
        self.va_ranges = memory.address_ranges()
        self.user_regions = memory.UserRegions()     # base -> size: user allocations and views
        self.kernel_regions: dict[int, int] = {}   # base -> size: I/O space and contiguous memory
        self.mapped_mdls: dict[int, int] = {}      # base -> size: MDL mappings
        self.registry = Registry(rootfs.registry_seed(), self.profile)
        self.deferred = DeferredWork()
        self.scheduler = Scheduler()
        self.error_log = ErrorLog()
        self.etw = Etw()
        self.callbacks = Callbacks()
        self.crt = crt.CrtState()
        self.pool = PoolAllocator(self.mem)
        self.filter_manager = FilterManager()
        self.file_systems = FileSystemRegistrations()
        self.ndis = Ndis()
        self.system_random = SystemRandom()
        self.io = IoManager(self)
        self.wdf = Framework()
        self.wfp = FilterEngine()
        self.wpp = InflightRecorder()
        self.interfaces = DeviceInterfaces()
        self.loaded_module_list = 0               # set once ntoskrnl's variables exist
        # (module, names): imports answered by stand-ins; names empty when the whole module is unknown
        self.unresolved_imports: list[tuple[str, list[str]]] = []
        self._next_module = MODULES_BASE
        self._next_driver = DRIVERS_BASE
        self._next_kdata = KERNEL_DATA
        nt, nt_image = _built(self._module_spec("ntoskrnl.exe", *rootfs.exports("ntoskrnl.exe"), INTERNAL_ROUTINES))
        # The stub area, hooked, runs from ntoskrnl's `ret` block to the end of the modules: the
        # kernel's machine-code routines (IRQL, spin locks, CFG, C runtime) lie below it and never
        # enter Python.
        self.stubs = StubArea(self.machine, MODULES_BASE + nt.stub_block_rva, MODULES_SPAN - nt.stub_block_rva)
        self.native_routines = {n: MODULES_BASE + nt.stubs[n] for n in nt.spec.native}
        self._place_module(nt, nt_image)
        self._add_module("hal.dll", *rootfs.exports("hal.dll"))
        self.return_trap = self.module_exports["ntoskrnl.exe"]["KiReturnTrap"]
        self.machine.irql_probe = self.module_exports["ntoskrnl.exe"]["KeGetCurrentIrql"]    # mov rax, cr8; ret
        self.machine.irql_setter = self.module_exports["ntoskrnl.exe"]["KiSetIrql"]          # mov cr8, rcx; ret
        self.mem.map_physical_window(memory.PHYSICAL_WINDOW)
        self._setup_processor()
        self._setup_shared_data()
        self._setup_variables()
        self.object_types = ObjectTypes(self)
        self.files = FileSystem.for_kernel(self)

    @property
    def caller(self) -> int:
        """Return address of the current API call: where in the driver the call came from."""
        return self.mem.read_q(self.regs[4])

    # ---- modules and stubs ----------------------------------------------------------------------
    def _add_module(self, name: str, functions, variables, internal=(), extends: bool = False) -> LoadedImage:
        """Synthesize, map and bind a kernel module. With `extends`, the routines are added to an
        existing module's import table (names a driver imports that our export list lacks)."""
        return self._place_module(*_built(self._module_spec(name, functions, variables, internal, extends)),
                                  extends)

    @staticmethod
    def _module_spec(name: str, functions, variables, internal=(), extends: bool = False) -> ModuleSpec:
        """ntoskrnl.exe holds every machine-code routine (once, below the stub area); another
        module that names one forwards it there, as hal.dll forwards to ntoskrnl on Windows."""
        kernel = name.lower() == "ntoskrnl.exe" and not extends
        return ModuleSpec(name, list(functions), [(v, _VARIABLE_SIZES.get(v, 8)) for v in variables], list(internal),
                          NATIVE_ROUTINES if kernel else {},
                          {} if kernel else {n: f"ntoskrnl.{n}" for n in functions if n in NATIVE_ROUTINES})

    def _place_module(self, built: BuiltModule, image: PeImage, extends: bool = False) -> LoadedImage:
        """Map a built module after the previous one, record its exports and bind its stubs."""
        spec, name = built.spec, built.spec.name
        base = self._next_module
        if base + built.size_of_image > MODULES_BASE + MODULES_SPAN:
            raise MemoryError("stub area exhausted")
        self._next_module = base + page_ceil(built.size_of_image) + PAGE
        loaded = map_image(self.mem, image, base, lambda imp: 0)
        named = {*spec.functions, *spec.internal}
        addresses = {n: base + rva for n, rva in built.stubs.items() if n in named}
        addresses.update({n: base + rva for n, rva in built.variables.items()})
        addresses.update({n: self.native_routines[n] for n in spec.forwards})
        if extends:
            self.module_exports[name.lower()].update(addresses)
        else:
            self.modules[name.lower()] = loaded
            self.module_exports[name.lower()] = addresses
        read_q = self.mem.read_q
        for routine, rva in built.stubs.items():
            address = base + rva
            self.stub_names[address] = f"{name}!{routine}"
            exp = EXPORTS.get(routine)
            if routine in spec.native:
                continue
            if exp is not None:
                self.stubs.bind(address, make_routine(exp, self, read_q))
            elif routine != "KiReturnTrap":
                self.stubs.bind(address, self.standins.routine(name, routine, address))
        if self.loaded_module_list and not extends:
            self._link_module(loaded, name)
        return loaded

    def add_library(self, name: str, routines: list[str]) -> LoadedImage:
        """A kernel module whose routines are reached through a table, not exports (KMDF's)."""
        return self._add_module(name, [], [], internal=routines)

    def resolve_import(self, imp: Import) -> int:
        return self.module_exports[imp.dll.lower()][_import_key(imp)]

    def address_of(self, module: str, name: str) -> int:
        return self.module_exports[module.lower()][name]

    def symbol(self, address: int) -> str:
        """module+0xRVA (or module!Routine for a stub) for any code address."""
        if address in self.stub_names:
            return self.stub_names[address]
        for loaded in list(self.modules.values()) + [d.image for d in self.drivers]:
            if loaded.contains(address):
                return f"{loaded.name}+0x{loaded.rva(address):x}"
        return f"0x{address:x}"

    def image_at(self, address: int) -> LoadedImage | None:
        for d in self.drivers:
            if d.image.contains(address):
                return d.image
        return None

    # ---- kernel memory --------------------------------------------------------------------------
    def alloc_kdata(self, size: int, flags: int = PROT_RW) -> int:
        """Kernel-owned data (KPCR, threads, objects), page granular, never freed."""
        va = self._next_kdata
        self._next_kdata += page_ceil(size)
        self.mem.map_new(va, size, flags)
        return va

    def write_struct(self, va: int, obj: ctypes.Structure) -> None:
        poke(self.mem, va, bytes(obj))

    def read_struct(self, cls, va: int):
        return cls.from_buffer_copy(self.mem.read(va, ctypes.sizeof(cls)))

    def new_struct(self, obj: ctypes.Structure, tag: int = 0x6E6B7245) -> int:
        """A kernel object in non-paged NX pool, initialised from `obj`."""
        va = self.pool.allocate(ctypes.sizeof(obj), executable=False, paged=False, tag=tag, owner=0)
        self.write_struct(va, obj)
        return va

    def unicode_string(self, text: str, extra: int = 0) -> int:
        """A UNICODE_STRING (and its buffer) in pool; returns the structure's address."""
        data = text.encode("utf-16-le")
        buf = self.pool.allocate(len(data) + 2 + extra, executable=False, paged=False, tag=0x72745355, owner=0)
        poke(self.mem, buf, data + b"\0\0")
        return self.new_struct(ks.UNICODE_STRING(len(data), len(data) + 2 + extra, buf))

    def read_unicode_string(self, va: int) -> str:
        us = self.read_struct(ks.UNICODE_STRING, va)
        if not us.Buffer or not us.Length:
            return ""
        return self.mem.read(us.Buffer, min(us.Length, 0xFFFE)).decode("utf-16-le", "replace")

    # ---- processor state ----------------------------------------------------------------------------
    def _setup_processor(self) -> None:
        self.system_process = self.alloc_kdata(0x1000)
        self.initial_thread = self.current_thread = self.alloc_kdata(0x1000)   # DriverEntry's thread
        poke(self.mem, self.current_thread + ks.KTHREAD_PROCESS_OFFSET, struct.pack("<Q", self.system_process))
        self.kpcr = self.alloc_kdata(ctypes.sizeof(ks.KPCR))
        pcr = ks.KPCR()
        pcr.Self = self.kpcr
        pcr.CurrentPrcb = self.kpcr + ks.offset_of(ks.KPCR, "Prcb")
        pcr.Prcb.CurrentThread = self.current_thread
        pcr.Prcb.IdleThread = self.current_thread
        self.write_struct(self.kpcr, pcr)
        self.machine.set_gs_base(self.kpcr)
        self.stack_top = self.thread_stack(0)

    def thread_stack(self, index: int) -> int:
        """Map kernel stack number `index` (0 is DriverEntry's thread's) below its guard page; its top."""
        base = STACK_BASE + index * STACK_STRIDE
        self.mem.map_new(base + PAGE, KERNEL_STACK_SIZE, PROT_RW)
        return base + PAGE + KERNEL_STACK_SIZE - 0x100

    def _setup_shared_data(self) -> None:
        p = self.profile
        pa = self.mem.map_new(KUSER_SHARED_DATA, ctypes.sizeof(ks.KUSER_SHARED_DATA), PROT_R)
        self.mem.map(KUSER_SHARED_DATA_USER, pa, PAGE, PTE_P | PTE_U | PTE_NX)
        sd = ks.KUSER_SHARED_DATA()
        sd.TickCountMultiplier = 0x0FA00000
        sd.NtBuildNumber = p["build"]
        sd.NtProductType = p["product_type"]
        sd.ProductTypeIsValid = 1
        sd.NtMajorVersion = p["major"]
        sd.NtMinorVersion = p["minor"]
        sd.ActiveProcessorCount = p["processors"]
        sd.KdDebuggerEnabled = 0
        root = p["system_root"]
        ctypes.memmove(ctypes.addressof(sd) + ks.offset_of(ks.KUSER_SHARED_DATA, "NtSystemRoot"),
                       root.encode("utf-16-le") + b"\0\0", 2 * len(root) + 2)
        self.write_struct(KUSER_SHARED_DATA, sd)
        self.set_time(0x01DA0000_00000000)

    def set_time(self, system_time_100ns: int) -> None:
        """Deterministic time: every run starts at the same moment."""
        self.system_time = system_time_100ns
        self.interrupt_time = 0
        dispatcher.publish_time(self)

    def _setup_variables(self) -> None:
        nt = self.module_exports["ntoskrnl.exe"]
        p = self.profile
        obj_type = self.alloc_kdata(PAGE)
        values = {
            "NtBuildNumber": 0xF0000000 | p["build"],
            "MmUserProbeAddress": 0x7FFFFFFF0000,
            "MmHighestUserAddress": 0x7FFFFFFEFFFF,
            "MmSystemRangeStart": 0xFFFF800000000000,
            "KdDebuggerEnabled": 0, "KdDebuggerNotPresent": 1, "KdEnteredDebugger": 0,
            "InitSafeBootMode": 0,
            "KeNumberProcessors": p["processors"],
            "ExDefaultNonPagedPoolType": 0x200,
            "PsInitialSystemProcess": self.system_process,
            "NtGlobalFlag": 0,
            "Mm64BitPhysicalAddress": 1,
            "NlsMbCodePageTag": 0,
        }
        for i, name in enumerate(("PsProcessType", "PsThreadType", "IoFileObjectType", "IoDeviceObjectType",
                                  "IoDriverObjectType", "ExEventObjectType", "ExSemaphoreObjectType",
                                  "CmKeyObjectType", "MmSectionObjectType", "SeTokenObjectType", "PsJobType")):
            values[name] = obj_type + 0x100 * (i % 16)
        se_exports = self.alloc_kdata(PAGE)
        security.fill_se_exports(self, se_exports)
        values["SeExports"] = se_exports
        for name, value in values.items():
            if name in nt:
                poke(self.mem, nt[name], struct.pack("<Q", value))
        self.loaded_module_list = nt["PsLoadedModuleList"]
        poke(self.mem, self.loaded_module_list, struct.pack("<QQ", self.loaded_module_list, self.loaded_module_list))
        for loaded in self.modules.values():
            self._link_module(loaded, loaded.name)

    def _link_module(self, loaded: LoadedImage, name: str, path: str | None = None) -> int:
        """Add an LDR_DATA_TABLE_ENTRY for the image to PsLoadedModuleList; returns its address."""
        entry = ks.LDR_DATA_TABLE_ENTRY()
        entry.DllBase = loaded.base
        entry.EntryPoint = loaded.entry
        entry.SizeOfImage = loaded.size
        full = self.unicode_string(path or f"\\SystemRoot\\system32\\{name}")
        base = self.unicode_string(name)
        entry.FullDllName = self.read_struct(ks.UNICODE_STRING, full)
        entry.BaseDllName = self.read_struct(ks.UNICODE_STRING, base)
        entry.LoadCount = 1
        va = self.new_struct(entry, tag=0x4C646D4D)
        head = self.loaded_module_list
        blink = self.mem.read_q(head + 8)
        poke(self.mem, va, struct.pack("<QQ", head, blink))       # InLoadOrderLinks
        poke(self.mem, blink, struct.pack("<Q", va))              # old last -> new
        poke(self.mem, head + 8, struct.pack("<Q", va))
        return va

    # ---- drivers ------------------------------------------------------------------------------------
    def load_driver(self, image: PeImage, name: str, allow_wx: bool = False, seed: int = 0,
                    init_security_cookie: bool = True) -> DriverContext:
        """Map the driver at a non-preferred base, bind its imports, fill its load-config slots
        (a /GS cookie derived from `seed`; CFG-off routines), build its DRIVER_OBJECT.

        `allow_wx` maps writable code as a loader without memory integrity would;
        `init_security_cookie=False` leaves the cookie as linked (tests of the /GS failure path)."""
        # Modules beyond ntoskrnl/hal that have an export list are built when first imported.
        for dll in sorted({imp.dll.lower() for imp in image.imports} & ON_DEMAND_MODULES - self.module_exports.keys()):
            self._add_module(dll, *rootfs.exports(dll))
        missing: dict[str, set[str]] = {}
        for imp in image.imports:
            if _import_key(imp) not in self.module_exports.get(imp.dll.lower(), {}):
                missing.setdefault(imp.dll, set()).add(_import_key(imp))
        for dll, names in missing.items():
            known = dll.lower() in self.module_exports
            self._add_module(dll, sorted(names), [], extends=known)
            # a module with handlers but no export list (fwpkclnt.sys): only the names without one are stand-ins
            handled = {n for n in names if n in EXPORTS and EXPORTS[n].module.lower() == dll.lower()}
            if known or handled:
                if names - handled:
                    self.unresolved_imports.append((dll, sorted(names - handled)))
            else:
                self.unresolved_imports.append((dll, []))
        base = self._next_driver
        self._next_driver += max(page_ceil(image.size_of_image), 0x1000000)
        nt = self.module_exports["ntoskrnl.exe"]
        startup = Startup(security_cookie(seed, image) if init_security_cookie else None,
                          nt["guard_check_icall"], nt["guard_dispatch_icall"])
        loaded = map_image(self.mem, image, base, self.resolve_import, allow_wx, startup)
        path = f"\\SystemRoot\\System32\\drivers\\{image.name}"
        ldr = self._link_module(loaded, image.name, path)
        self.files.add_file(path, image.data)
        driver_object = self._new_driver_object(loaded, name, ldr)
        registry_path = self.unicode_string(f"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\{name}")
        self.registry.add_service(name)
        ctx = DriverContext(loaded, name, driver_object, registry_path, ldr)
        self.drivers.append(ctx)
        return ctx

    def _new_driver_object(self, loaded: LoadedImage, name: str, ldr: int) -> int:
        dobj = ks.DRIVER_OBJECT()
        dobj.Type = ks.IO_TYPE_DRIVER
        dobj.Size = ctypes.sizeof(ks.DRIVER_OBJECT)
        dobj.DriverStart = loaded.base
        dobj.DriverSize = loaded.size
        dobj.DriverSection = ldr
        dobj.DriverInit = loaded.entry
        dobj.DriverName = self.read_struct(ks.UNICODE_STRING, self.unicode_string(f"\\Driver\\{name}"))
        dobj.HardwareDatabase = self.unicode_string("\\REGISTRY\\MACHINE\\HARDWARE\\DESCRIPTION\\SYSTEM")
        invalid = self.module_exports["ntoskrnl.exe"]["IopInvalidDeviceRequest"]
        for i in range(len(dobj.MajorFunction)):
            dobj.MajorFunction[i] = invalid
        va = self.new_struct(dobj, tag=0x76697244)
        ext = ks.DRIVER_EXTENSION()
        ext.DriverObject = va
        ext.ServiceKeyName = self.read_struct(ks.UNICODE_STRING, self.unicode_string(name))
        ext_va = self.new_struct(ext, tag=0x76697244)
        poke(self.mem, va + ks.offset_of(ks.DRIVER_OBJECT, "DriverExtension"), struct.pack("<Q", ext_va))
        return va

    # ---- running ------------------------------------------------------------------------------------
    def call(self, routine: int, args: list[int], stack_top: int | None = None, irql: int = 0) -> Stop:
        """Run a driver routine at `irql` until it returns to the kernel; `stack_top` below the top
        of the kernel stack for a call made while another run is stopped (exception filters)."""
        return self.machine.call(routine, args, self.return_trap, stack_top or self.stack_top, irql)

    def resume(self, regs: dict[int, int], rip: int, irql: int) -> Stop:
        """Go on with a stopped run from a full register context (after a handled exception)."""
        return self.machine.resume(regs, rip, irql, self.return_trap)

    # ---- snapshots ----------------------------------------------------------------------------------
    def snapshot(self) -> KernelSnapshot:
        """The whole kernel as it stands (the CPU stopped): guest memory, page tables, CPU and every
        subsystem's Python state. `restore` brings it back, as cheaply as the changes since allow."""
        from hooks import state
        return state.capture(self)

    def restore(self, snap: KernelSnapshot) -> None:
        from hooks import state
        state.restore(self, snap)

    def call_nested(self, routine: int, args: list[int]) -> int:
        """Call driver code from inside a kernel routine; returns RAX (see `Machine.nested_call`).
        The routine's own view of its call (argument registers, caller) survives the driver's calls."""
        regs, export = self.regs, self.current_export
        self.scheduler.nested += 1              # a thread cannot be parked inside a kernel routine's call
        try:
            result = self.machine.nested_call(routine, args, self.return_trap)
        finally:
            self.scheduler.nested -= 1
        self.regs, self.current_export = regs, export
        return result
