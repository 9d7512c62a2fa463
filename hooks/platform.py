"""The machine under the kernel as drivers query it: PCI configuration space and the processor's
extended (XSAVE) state features.

The emulated machine has one PCI bus, bus 0, with nothing in its slots. HalGetBusDataByOffset answers an
empty slot as Microsoft documents it (HalGetBusData: "If the specified slot is empty, returns 2 and
VendorID holds PCI_INVALID_VENDORID"): a read that covers VendorID gets 0xFFFF there and returns 2,
a read of anything else in an empty slot returns 0 bytes; a bus that does not exist, or a bus data type
other than PCIConfiguration (the only one still supported), returns 0. A write to an empty slot sets
nothing and returns 0.

The processor is a modern x64 one with XSAVE enabled for x87, SSE and AVX state (XSTATE_MASK_LEGACY |
XSTATE_MASK_AVX), what Windows 10/11 enables on any AVX-capable CPU without AVX-512.
"""
from __future__ import annotations

from hooks.api import PVOID, ULONG, ULONG64, export

PCI_CONFIGURATION = 4                 # BUS_DATA_TYPE PCIConfiguration
PCI_INVALID_VENDORID = 0xFFFF
PRESENT_PCI_BUSES = {0}
XSTATE_MASK_LEGACY_FLOATING_POINT, XSTATE_MASK_LEGACY_SSE, XSTATE_MASK_AVX = 0x1, 0x2, 0x4
ENABLED_XSTATE_FEATURES = XSTATE_MASK_LEGACY_FLOATING_POINT | XSTATE_MASK_LEGACY_SSE | XSTATE_MASK_AVX


def _bus_exists(bus_data_type: int, bus_number: int) -> bool:
    return bus_data_type == PCI_CONFIGURATION and bus_number in PRESENT_PCI_BUSES


def _read_empty_slot(k, buffer: int, offset: int, length: int) -> int:
    if offset != 0 or length < 2:
        return 0
    k.mem.write_u16(buffer, PCI_INVALID_VENDORID)
    return 2


@export("HalGetBusDataByOffset", module="hal.dll")
def HalGetBusDataByOffset(k, BusDataType: ULONG, BusNumber: ULONG, SlotNumber: ULONG, Buffer: PVOID, Offset: ULONG,
                          Length: ULONG) -> ULONG:
    return _read_empty_slot(k, Buffer, Offset, Length) if _bus_exists(BusDataType, BusNumber) else 0


@export("HalSetBusDataByOffset", module="hal.dll")
def HalSetBusDataByOffset(k, BusDataType: ULONG, BusNumber: ULONG, SlotNumber: ULONG, Buffer: PVOID, Offset: ULONG,
                          Length: ULONG) -> ULONG:
    """No device in any slot: nothing is set."""
    return 0


@export("RtlGetEnabledExtendedFeatures")
def RtlGetEnabledExtendedFeatures(k, FeatureMask: ULONG64) -> ULONG64:
    return FeatureMask & ENABLED_XSTATE_FEATURES
