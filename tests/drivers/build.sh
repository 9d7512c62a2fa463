#!/usr/bin/env bash
# Rebuild the test-driver corpus: src/*.c -> bin/<name>.sys (intermediates in obj/).
#
#   tests/drivers/build.sh            build every driver
#   tests/drivers/build.sh NAME...    build only the named drivers
#
# Toolchains: x86_64-w64-mingw32-gcc/-dlltool/-objcopy (GNU ld) and clang +
# lld-link (MSVC-style COFF).  Output is deterministic: GNU ld with
# --no-insert-timestamp and a stripped symbol table, lld-link with /Brepro.
# See README.md and corpus.json for what each driver is for.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/src
OBJ=$HERE/obj
BIN=$HERE/bin

MINGW=${MINGW:-x86_64-w64-mingw32}
MINGW_ROOT=${MINGW_ROOT:-/usr/$MINGW}
CLANG=${CLANG:-clang}
LLD_LINK=${LLD_LINK:-lld-link}

die() { echo "build.sh: $*" >&2; exit 1; }

need_tool() {
    command -v "$1" >/dev/null 2>&1 ||
        die "required tool '$1' not found in PATH ($2)"
}
need_file() {
    [[ -e $1 ]] || die "required file '$1' not found ($2)"
}

need_tool "$MINGW-gcc" "install the MinGW-w64 cross compiler, e.g. apt-get install gcc-mingw-w64-x86-64"
need_tool "$MINGW-dlltool" "part of binutils-mingw-w64-x86-64"
need_tool "$MINGW-objcopy" "part of binutils-mingw-w64-x86-64"
need_tool "$CLANG" "install clang"
need_tool "$LLD_LINK" "install lld (provides lld-link)"
need_file "$MINGW_ROOT/include/ddk/ntifs.h" "MinGW-w64 DDK headers (mingw-w64-x86-64-dev)"
need_file "$MINGW_ROOT/lib/libntoskrnl.a" "MinGW-w64 import library for ntoskrnl.exe"
need_file "$MINGW_ROOT/lib/libhal.a" "MinGW-w64 import library for hal.dll"

mkdir -p "$OBJ" "$BIN"

# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------
# -O1 and no sibling calls: every interesting export is reached through
# `call qword ptr [rip+__imp_X]`, never a tail `jmp`.  Multi-character pool
# tags ('tseT') are intended.
COMMON_CFLAGS=(-O1 -ffreestanding -fno-optimize-sibling-calls -fno-stack-protector -mno-stack-arg-probe
               -Wall -Wno-multichar -Wno-unknown-pragmas -I"$SRC")

# gcc extras:
#   -mcmodel=small              extern data (the __imp_ slots, data imports) is
#                               addressed RIP-relative, without .refptr stubs
#   -fno-function-cse           keep `call [rip+IAT]` at every call site instead
#   -fno-move-loop-invariants   of loading the IAT slot into a register once
#                               (e.g. in the loops of loops.c)
#   -fno-ident                  no compiler version string in the image
GCC_CFLAGS=("${COMMON_CFLAGS[@]}" -fno-ident -mcmodel=small -fno-function-cse -fno-move-loop-invariants
            -isystem "$MINGW_ROOT/include/ddk")

# clang targets the MSVC ABI; the MinGW headers need __GNUC__ (-fgnuc-version)
# and must come after clang's own intrinsic headers (-idirafter).
CLANG_CFLAGS=("${COMMON_CFLAGS[@]}" --target=x86_64-pc-windows-msvc -fgnuc-version=4.2.1
              -funwind-tables -ffunction-sections -fno-addrsig
              -idirafter "$MINGW_ROOT/include/ddk" -idirafter "$MINGW_ROOT/include")

# Native subsystem 10.0, DriverEntry as entry point, preferred base
# 0x140000000, relocatable + NX-compatible, no timestamp, no symbol table (-s).
GCC_LDFLAGS=(-nostdlib -nostartfiles -s
             -Wl,--subsystem,native:10.0 -Wl,--major-os-version,10 -Wl,--minor-os-version,0
             -Wl,--entry,DriverEntry -Wl,--image-base,0x140000000
             -Wl,--dynamicbase -Wl,--nxcompat -Wl,--high-entropy-va
             -Wl,--no-insert-timestamp
             -Wl,--disable-auto-import -Wl,--disable-runtime-pseudo-reloc)
GCC_ALIGN=(-Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000)
# All import libraries are used from obj/: GNU ld orders .idata$N input
# sections by file path, so keeping them side by side makes the IAT order
# independent of where the tree and the toolchain live.
GCC_LIBS=(-L"$OBJ" -lntoskrnl_extra -lntoskrnl -lhal)

LLD_FLAGS=(/nologo /driver /subsystem:native,10.0 /entry:DriverEntry /base:0x140000000
           /dynamicbase /nxcompat /highentropyva /tsaware:no /Brepro /nodefaultlib
           /opt:ref /opt:noicf)
LLD_LIBS=("$OBJ/libntoskrnl_extra.a" "$OBJ/libntoskrnl.a" "$OBJ/libhal.a")

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
SELECTED=("$@")
BUILT=()

wanted() {
    [[ ${#SELECTED[@]} -eq 0 ]] && return 0
    local s
    for s in "${SELECTED[@]}"; do [[ $s == "$1" ]] && return 0; done
    return 1
}

# gcc_cc NAME SOURCE [cflags...]  -> obj/NAME.o
gcc_cc() {
    local name=$1 src=$2; shift 2
    "$MINGW-gcc" "${GCC_CFLAGS[@]}" -DHV_NAME="$name" "$@" -c "$SRC/$src" -o "$OBJ/$name.o"
}
# gcc_ld NAME [ldflags...]  -> bin/NAME.sys (default alignment unless ldflags override)
gcc_ld() {
    local name=$1; shift
    "$MINGW-gcc" -o "$BIN/$name.sys" "$OBJ/$name.o" "${GCC_LDFLAGS[@]}" "$@" "${GCC_LIBS[@]}"
    BUILT+=("$name")
}
# gccdrv NAME SOURCE [cflags...] [-- ldflags...]
gccdrv() {
    local name=$1 src=$2; shift 2
    wanted "$name" || return 0
    local cflags=() ldflags=()
    while [[ $# -gt 0 && $1 != -- ]]; do cflags+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift
    ldflags=("$@")
    echo "  gcc    $name"
    gcc_cc "$name" "$src" "${cflags[@]}"
    if [[ ${#ldflags[@]} -eq 0 ]]; then ldflags=("${GCC_ALIGN[@]}"); fi
    gcc_ld "$name" "${ldflags[@]}"
}

# clangdrv NAME SOURCE [cflags...] [-- lld-link flags...]
clangdrv() {
    local name=$1 src=$2; shift 2
    wanted "$name" || return 0
    local cflags=() ldflags=()
    while [[ $# -gt 0 && $1 != -- ]]; do cflags+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift
    ldflags=("$@")
    echo "  clang  $name"
    "$CLANG" "${CLANG_CFLAGS[@]}" -DHV_NAME="$name" "${cflags[@]}" -c "$SRC/$src" -o "$OBJ/$name.obj"
    "$LLD_LINK" "${LLD_FLAGS[@]}" "${ldflags[@]}" /out:"$BIN/$name.sys" "$OBJ/$name.obj" "${LLD_LIBS[@]}"
    BUILT+=("$name")
}

# ---------------------------------------------------------------------------
# Import libraries: MinGW's libntoskrnl.a/libhal.a, plus one made from
# src/ntoskrnl_extra.def for exports libntoskrnl.a lacks (both toolchains
# link these GNU-format archives; lld-link reads them too).
# ---------------------------------------------------------------------------
cp "$MINGW_ROOT/lib/libntoskrnl.a" "$MINGW_ROOT/lib/libhal.a" "$OBJ/"
# Run in obj/ with a fixed temp prefix: dlltool derives member and symbol names
# from them, and they decide the IAT order, so this keeps output path-independent.
(cd "$OBJ" && "$MINGW-dlltool" -m i386:x86-64 --temp-prefix ntx \
    -d ../src/ntoskrnl_extra.def -l libntoskrnl_extra.a)

echo "building into $BIN"

# ---------------------------------------------------------------------------
# A. Static image rules (both toolchains)
# ---------------------------------------------------------------------------
gccdrv   clean_gcc            static.c -DCASE_CLEAN
clangdrv clean_clang          static.c -DCASE_CLEAN

gccdrv   rwx_gcc              static.c -DCASE_RWX
clangdrv rwx_clang            static.c -DCASE_RWX -- /section:.rwx,RWE

# DriverEntry lives in INIT (like #pragma alloc_text(INIT, DriverEntry));
# the build marks INIT read-write-execute the way old VS2013 links did.
if wanted init_rwx_gcc; then
    echo "  gcc    init_rwx_gcc"
    gcc_cc init_rwx_gcc static.c -DCASE_INIT_RWX
    # objcopy: a code section without "readonly" gets IMAGE_SCN_MEM_WRITE.
    "$MINGW-objcopy" --set-section-flags INIT=contents,alloc,load,code "$OBJ/init_rwx_gcc.o"
    gcc_ld init_rwx_gcc "${GCC_ALIGN[@]}"
fi
clangdrv init_rwx_clang       static.c -DCASE_INIT_RWX -- /section:INIT,RWED

# 0x200 section and file alignment.  For gcc: no .bss (keeps file offsets equal
# to RVAs) and a 0x680-byte pad in .rdata so no section starts on 0x1000.
gccdrv   unaligned_gcc        static.c -DCASE_UNALIGNED -fno-zero-initialized-in-bss -DUNALIGNED_PAD=0x680 \
      -- -Wl,--file-alignment,0x200 -Wl,--section-alignment,0x200
clangdrv unaligned_clang      static.c -DCASE_UNALIGNED -- /align:0x200 /filealign:0x200

gccdrv   iat_exec_gcc         static.c -DCASE_IAT_EXEC -- "${GCC_ALIGN[@]}" -Wl,-T,"$SRC/iat_in_text.ld"
clangdrv iat_exec_clang       static.c -DCASE_IAT_EXEC -- /merge:.rdata=.text

gccdrv   straddle_reloc_gcc   static.c -DCASE_STRADDLE
clangdrv straddle_reloc_clang static.c -DCASE_STRADDLE

# ---------------------------------------------------------------------------
# B. Run-time "one call" drivers (executable vs NX)
# ---------------------------------------------------------------------------
gccdrv pool_tag_exec      onecall.c -DCASE_POOL_TAG
gccdrv pool_tag_nx        onecall.c -DCASE_POOL_TAG -DNX
gccdrv pool_exec          onecall.c -DCASE_POOL
gccdrv pool_nx            onecall.c -DCASE_POOL -DNX
gccdrv quota_tag_exec     onecall.c -DCASE_QUOTA_TAG
gccdrv quota_tag_nx       onecall.c -DCASE_QUOTA_TAG -DNX
gccdrv quota_exec         onecall.c -DCASE_QUOTA
gccdrv quota_nx           onecall.c -DCASE_QUOTA -DNX
gccdrv prio_exec          onecall.c -DCASE_PRIO
gccdrv prio_nx            onecall.c -DCASE_PRIO -DNX
gccdrv pool2_exec         onecall.c -DCASE_POOL2
gccdrv pool2_nx           onecall.c -DCASE_POOL2 -DNX
gccdrv pool3_exec         onecall.c -DCASE_POOL3
gccdrv pool3_nx           onecall.c -DCASE_POOL3 -DNX
gccdrv cache_exec         onecall.c -DCASE_CACHE
gccdrv cache_nx           onecall.c -DCASE_CACHE -DNX
gccdrv paged              onecall.c -DCASE_PAGED
gccdrv npla_exec          onecall.c -DCASE_NPLA
gccdrv npla_nx            onecall.c -DCASE_NPLA -DNX
gccdrv lookaside_ex_exec  onecall.c -DCASE_LOOKASIDE_EX
gccdrv lookaside_ex_nx    onecall.c -DCASE_LOOKASIDE_EX -DNX
gccdrv nx_optin           onecall.c -DCASE_NX_OPTIN
gccdrv nx_optin_ver       onecall.c -DCASE_NX_OPTIN_VER
gccdrv mdl_map_exec       onecall.c -DCASE_MDL_MAP
gccdrv mdl_map_nx         onecall.c -DCASE_MDL_MAP -DNX
gccdrv mdl_maplocked_exec onecall.c -DCASE_MDL_MAPLOCKED
gccdrv mdl_maplocked_nx   onecall.c -DCASE_MDL_MAPLOCKED -DNX
gccdrv mdl_protect_exec   onecall.c -DCASE_MDL_PROTECT
gccdrv mdl_protect_nx     onecall.c -DCASE_MDL_PROTECT -DNX
gccdrv iospace_ex_exec    onecall.c -DCASE_IOSPACE_EX
gccdrv iospace_ex_nx      onecall.c -DCASE_IOSPACE_EX -DNX
gccdrv iospace            onecall.c -DCASE_IOSPACE
gccdrv contig_node_exec   onecall.c -DCASE_CONTIG_NODE
gccdrv contig_node_nx     onecall.c -DCASE_CONTIG_NODE -DNX
gccdrv contig             onecall.c -DCASE_CONTIG
gccdrv contig_cache       onecall.c -DCASE_CONTIG_CACHE
gccdrv contig_cache_node  onecall.c -DCASE_CONTIG_CACHE_NODE
gccdrv zwalloc_exec       onecall.c -DCASE_ZWALLOC
gccdrv zwalloc_nx         onecall.c -DCASE_ZWALLOC -DNX
gccdrv zwprotect_exec     onecall.c -DCASE_ZWPROTECT
gccdrv zwprotect_nx       onecall.c -DCASE_ZWPROTECT -DNX
gccdrv zwsection_exec     onecall.c -DCASE_ZWSECTION
gccdrv zwsection_nx       onecall.c -DCASE_ZWSECTION -DNX
gccdrv zwmap_exec         onecall.c -DCASE_ZWMAP
gccdrv zwmap_nx           onecall.c -DCASE_ZWMAP -DNX
gccdrv ntsection_exec     onecall.c -DCASE_NTSECTION
gccdrv ntsection_nx       onecall.c -DCASE_NTSECTION -DNX
gccdrv ntmap_exec         onecall.c -DCASE_NTMAP
gccdrv ntmap_nx           onecall.c -DCASE_NTMAP -DNX

clangdrv pool_tag_exec_clang  onecall.c -DCASE_POOL_TAG
clangdrv pool_tag_nx_clang    onecall.c -DCASE_POOL_TAG -DNX
clangdrv pool2_exec_clang     onecall.c -DCASE_POOL2
clangdrv mdl_map_exec_clang   onecall.c -DCASE_MDL_MAP
clangdrv zwprotect_exec_clang onecall.c -DCASE_ZWPROTECT

# ---------------------------------------------------------------------------
# C. Faults
# ---------------------------------------------------------------------------
gccdrv patch_code     faults.c -DCASE_PATCH_CODE
gccdrv exec_nx_pool   faults.c -DCASE_EXEC_NX_POOL
gccdrv read_unmapped  faults.c -DCASE_READ_UNMAPPED
gccdrv write_unmapped faults.c -DCASE_WRITE_UNMAPPED
gccdrv exec_unmapped  faults.c -DCASE_EXEC_UNMAPPED
gccdrv int3           faults.c -DCASE_INT3
gccdrv ud2            faults.c -DCASE_UD2
gccdrv div0           faults.c -DCASE_DIV0
gccdrv bugcheck       faults.c -DCASE_BUGCHECK
gccdrv spin_forever   faults.c -DCASE_SPIN_FOREVER

# ---------------------------------------------------------------------------
# D. Emulation-core checks
# ---------------------------------------------------------------------------
gccdrv   reloc_check       reloc_check.c
clangdrv reloc_check_clang reloc_check.c
gccdrv   data_imports      data_imports.c
gccdrv   args6             args6.c
gccdrv   kstate            kstate.c
gccdrv   strings           strings.c
gccdrv   registry          registry.c
gccdrv   mdl_coherence     mdl_coherence.c
gccdrv   standins          standins.c -DCASE_KINDS
gccdrv   standin_cut       standins.c -DCASE_CUT
# C runtime and file routines (hooks/crt.py, hooks/stdio.py, hooks/files.py)
gccdrv   crt               crt.c
gccdrv   files             files.c

# ---------------------------------------------------------------------------
# E. Benchmark loops (exported entry points)
# ---------------------------------------------------------------------------
gccdrv cpu_loop   loops.c -DCASE_CPU_LOOP
gccdrv api_loop   loops.c -DCASE_API_LOOP
gccdrv alloc_loop loops.c -DCASE_ALLOC_LOOP
gccdrv irql_loop      loops.c -DCASE_IRQL_LOOP
gccdrv lookaside_loop loops.c -DCASE_LOOKASIDE_LOOP
gccdrv mem_loop       loops.c -DCASE_MEM_LOOP

# ---------------------------------------------------------------------------
# F. IOCTL dispatch
# ---------------------------------------------------------------------------
gccdrv ioctl ioctl.c

# ---------------------------------------------------------------------------
# G. Stack unwinding: a three-deep call chain with different prologs
# ---------------------------------------------------------------------------
gccdrv   deep_stack_gcc   deep_stack.c
clangdrv deep_stack_clang deep_stack.c

# ---------------------------------------------------------------------------
# H. Minifilters: fltmgr.sys imports through obj/libfltmgr.a (src/fltmgr.def)
# ---------------------------------------------------------------------------
(cd "$OBJ" && "$MINGW-dlltool" -m i386:x86-64 --temp-prefix flt -d ../src/fltmgr.def -l libfltmgr.a)
FLT_LD=(-- "${GCC_ALIGN[@]}" -L"$OBJ" -lfltmgr)
gccdrv flt_minifilter   flt.c -DCASE_MINIFILTER "${FLT_LD[@]}"
gccdrv flt_pool_exec    flt.c -DCASE_POOL "${FLT_LD[@]}"
gccdrv flt_pool_nx      flt.c -DCASE_POOL -DNX "${FLT_LD[@]}"
gccdrv flt_context_exec flt.c -DCASE_CONTEXT "${FLT_LD[@]}"
gccdrv flt_context_nx   flt.c -DCASE_CONTEXT -DNX "${FLT_LD[@]}"
clangdrv flt_pool_exec_clang    flt.c -DCASE_POOL -- "$OBJ/libfltmgr.a"
clangdrv flt_context_exec_clang flt.c -DCASE_CONTEXT -- "$OBJ/libfltmgr.a"

# ---------------------------------------------------------------------------
# I. What Windows' loader does before DriverEntry, and the bug checks of faults
# ---------------------------------------------------------------------------
# /GS (-fstack-protector-strong), a load-config directory and the WDK's GsDriverEntry
# entry point; cfg_clang also Control Flow Guard (-cfguard, /guard:cf).
clangdrv gs_clean_clang   gs.c -DCASE_GS_CLEAN -fstack-protector-strong -- /entry:GsDriverEntry
clangdrv gs_overrun_clang gs.c -DCASE_GS_OVERRUN -fstack-protector-strong -- /entry:GsDriverEntry
clangdrv cfg_clang        gs.c -DCASE_CFG -fstack-protector-strong -Xclang -cfguard -- /entry:GsDriverEntry /guard:cf
gccdrv   null_read        user_faults.c -DCASE_NULL_READ
gccdrv   user_write       user_faults.c -DCASE_USER_WRITE
gccdrv   null_call        user_faults.c -DCASE_NULL_CALL
gccdrv   irql_read        user_faults.c -DCASE_IRQL_READ
gccdrv   irql_null_write  user_faults.c -DCASE_IRQL_NULL_WRITE

# ---------------------------------------------------------------------------
# J. Structured exception handling (clang's MSVC target emits __C_specific_handler
#    scope tables; -fms-extensions enables __try/__except/__finally)
# ---------------------------------------------------------------------------
clangdrv seh                 seh.c -fms-extensions
clangdrv seh_unhandled_raise seh.c -fms-extensions -DCASE_UNHANDLED_RAISE
clangdrv seh_unhandled_fault seh.c -fms-extensions -DCASE_UNHANDLED_FAULT

# ---------------------------------------------------------------------------
# K. Kernel services real drivers call (issue 7): dispatcher objects and
#    threads, system information, registry query tables, notifications
# ---------------------------------------------------------------------------
gccdrv dispatcher dispatcher.c
gccdrv dispatcher_limit   dispatcher.c -DCASE_SEMAPHORE_LIMIT
gccdrv dispatcher_waitmax dispatcher.c -DCASE_TOO_MANY_WAIT_OBJECTS
gccdrv dispatcher_terminate dispatcher.c -DCASE_TERMINATE
gccdrv sysinfo    sysinfo.c
gccdrv notify     notify.c
gccdrv regquery   regquery.c
gccdrv regquery_fault regquery.c -DCASE_FAULT
clangdrv notify_signed notify.c -DSIGNED -- /integritycheck /implib:"$OBJ/notify_signed.lib"  # exports: keep the .lib out of bin/

# ---------------------------------------------------------------------------
# L. Dispatch routines, AddDevice, DriverUnload (src/dispatch.c)
# ---------------------------------------------------------------------------
gccdrv pending_irp  dispatch.c -DCASE_PENDING
gccdrv pnp_wdm      dispatch.c -DCASE_PNP
gccdrv filter_fwd   dispatch.c -DCASE_FILTER
gccdrv leak_unload  dispatch.c -DCASE_LEAK
gccdrv hidden_ioctl dispatch.c -DCASE_HIDDEN
gccdrv probe_user   dispatch.c -DCASE_PROBE
gccdrv csq_queue    dispatch.c -DCASE_CSQ
clangdrv probe_seh_clang dispatch.c -DCASE_PROBE_SEH -fms-extensions

# ---------------------------------------------------------------------------
# M. Deferred work that runs after DriverEntry (verifier/deferred_run.py)
# ---------------------------------------------------------------------------
gccdrv   deferred          deferred.c
gccdrv   deferred_exec     deferred.c -DCASE_EXEC

# ---------------------------------------------------------------------------
# N. Notification routines run by the default scenario's system events (hooks/notify.py);
#    /INTEGRITYCHECK, which process-Ex and object callbacks need
# ---------------------------------------------------------------------------
clangdrv notify_run      notify_run.c -- /integritycheck
clangdrv notify_run_exec notify_run.c -DCASE_EXEC -- /integritycheck

# ---------------------------------------------------------------------------
# O. Snapshots: a guest store through the physical-memory window (2 MiB pages)
# ---------------------------------------------------------------------------
gccdrv phys_window phys_window.c

# ---------------------------------------------------------------------------
# P. A CREATE that fails: nothing else may be sent on that handle
# ---------------------------------------------------------------------------
gccdrv create_fails create_fails.c

# ---------------------------------------------------------------------------
# Q. Kernel routines the real corpus stopped at (configuration counts, paging, priority, MDL pages)
# ---------------------------------------------------------------------------
gccdrv kmisc kmisc.c

# R. KMDF drivers: entry point FxDriverEntry (wdf_compat.h), WDFLDR.SYS imports through
#    obj/libwdfldr.a (src/wdfldr.def)
# ---------------------------------------------------------------------------
(cd "$OBJ" && "$MINGW-dlltool" -m i386:x86-64 --temp-prefix wdf -d ../src/wdfldr.def -l libwdfldr.a)
KMDF_LD=(-- "${GCC_ALIGN[@]}" -Wl,--entry,FxDriverEntry -L"$OBJ" -lwdfldr)
KMDF_LLD=(-- /entry:FxDriverEntry "$OBJ/libwdfldr.a")
gccdrv kmdf_control        kmdf.c -DCASE_CONTROL "${KMDF_LD[@]}"
gccdrv kmdf_bad_handle     kmdf.c -DCASE_BAD_HANDLE "${KMDF_LD[@]}"
gccdrv kmdf_bind_v9        kmdf.c -DCASE_V9 "${KMDF_LD[@]}"
gccdrv kmdf_bad_count      kmdf.c -DCASE_BAD_COUNT "${KMDF_LD[@]}"
gccdrv kmdf_pnp            kmdf.c -DCASE_PNP "${KMDF_LD[@]}"
clangdrv kmdf_control_clang kmdf.c -DCASE_CONTROL "${KMDF_LLD[@]}"
for case in memory lookaside registry property property_ex fdo fdo_ex target; do
    define=-DCASE_${case^^}
    gccdrv "kmdf_${case}_exec" kmdf.c "$define" "${KMDF_LD[@]}"
    gccdrv "kmdf_${case}_nx"   kmdf.c "$define" -DNX "${KMDF_LD[@]}"
done
clangdrv kmdf_memory_exec_clang kmdf.c -DCASE_MEMORY "${KMDF_LLD[@]}"
gccdrv kmdf_loop           kmdf.c -DCASE_WDF_LOOP "${KMDF_LD[@]}"


# S. What file systems, redirectors, tools and NDIS drivers call first
#    (kernel_more.c; ndis_miniport.c imports NDIS.SYS through obj/libndis.a;
#    flt_volumes.c adds obj/libfltmgr_volumes.a for the fltmgr exports fltmgr.def lacks)
# ---------------------------------------------------------------------------
gccdrv   kernel_more       kernel_more.c
cp "$MINGW_ROOT/lib/libndis.a" "$OBJ/"
gccdrv   ndis_miniport     ndis_miniport.c -- "${GCC_ALIGN[@]}" -L"$OBJ" -lndis
(cd "$OBJ" && "$MINGW-dlltool" -m i386:x86-64 --temp-prefix fltvol -d ../src/fltmgr_volumes.def -l libfltmgr_volumes.a)
gccdrv   flt_volumes       flt_volumes.c -- "${GCC_ALIGN[@]}" -L"$OBJ" -lfltmgr_volumes -lfltmgr

# T. Violations only fuzzing reaches: a 4-byte magic in an IOCTL's input, a failed allocation
# ---------------------------------------------------------------------------
gccdrv   fuzz_target       fuzz_target.c

# ---------------------------------------------------------------------------
# U. The benchmarks' fuzz target: one METHOD_BUFFERED IOCTL whose parser is exported
#    (ParseRequest), so emulators without IRPs run the same code (benchmarks/peers)
# ---------------------------------------------------------------------------
gccdrv   fuzz_bench        fuzz_bench.c


# V. System threads that wait for work, scheduled cooperatively (threads.c;
#    hooks/scheduler.py, verifier/threads.py)
# ---------------------------------------------------------------------------
gccdrv   threads_worker      threads.c
gccdrv   threads_worker_exec threads.c -DCASE_EXEC
gccdrv   threads_poll        threads.c -DCASE_POLL

# ---------------------------------------------------------------------------
# W. KMDF requests past one queue, deferred work, deletion callbacks, a bus driver's child list, device
#    interfaces and the WPP recorder (kmdf_io.c; obj/libwpprecorder.a from src/wpprecorder.def); a WFP
#    callout driver's engine set-up (wfp.c; obj/libfwpkclnt.a from src/fwpkclnt.def)
# ---------------------------------------------------------------------------
(cd "$OBJ" && "$MINGW-dlltool" -m i386:x86-64 --temp-prefix wpp -d ../src/wpprecorder.def -l libwpprecorder.a)
(cd "$OBJ" && "$MINGW-dlltool" -m i386:x86-64 --temp-prefix fwpk -d ../src/fwpkclnt.def -l libfwpkclnt.a)
gccdrv kmdf_io     kmdf_io.c -DCASE_IO "${KMDF_LD[@]}"
gccdrv kmdf_bus    kmdf_io.c -DCASE_BUS "${KMDF_LD[@]}" -lwpprecorder
gccdrv wfp_engine  wfp.c -- "${GCC_ALIGN[@]}" -L"$OBJ" -lfwpkclnt

# ---------------------------------------------------------------------------
# X. A PnP REMOVE that sets its threads' events and polls their exit with delays already over
#    (CH341S64.sys's pattern; threads_yield.c; hooks/dispatcher.py yield_execution), and the IRPs
#    a driver builds with IoBuildDeviceIoControlRequest (iobuild.c; hooks/irp.py)
# ---------------------------------------------------------------------------
gccdrv   threads_yield     threads_yield.c
gccdrv   iobuild_ioctl     iobuild.c

# ---------------------------------------------------------------------------
# Y. An upper device filter that passes CREATE/CLOSE and unknown IOCTLs down to the PDO
#    (upper_filter.c; hooks/irp.py IopBusCreateClose), and named handles: a CREATE's FileName and
#    CreateDisposition (create_name.c; scenario keys file_name, disposition)
# ---------------------------------------------------------------------------
gccdrv   upper_filter      upper_filter.c
gccdrv   create_name       create_name.c

if [[ ${#SELECTED[@]} -gt 0 && ${#BUILT[@]} -ne ${#SELECTED[@]} ]]; then
    die "asked for ${#SELECTED[@]} driver(s) but built ${#BUILT[@]}: unknown name among: ${SELECTED[*]}"
fi
echo "built ${#BUILT[@]} driver(s)"
