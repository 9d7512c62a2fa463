"""Load-time rules 0x2003-0x2005: what Windows checks in a driver image before running a line of it.

Also counts the relocations whose 8-byte target straddles a page (`!verifier`'s "Unsupported Relocs"
counter) and notes INIT sections, whose write bit Windows 10 and later strips at load.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from emu.pe import PAGE, PeImage
from verifier.bugcheck import (CI_IAT_IN_EXECUTABLE_SECTION, CI_SECTION_NOT_PAGE_ALIGNED,
                               CI_WRITABLE_EXECUTABLE_SECTION, DRIVER_VERIFIER_DETECTED_VIOLATION, BugCheck)
from verifier.warning import DriverWarning

IMAGE_REL_BASED_HIGHLOW = 3
IMAGE_REL_BASED_DIR64 = 10
_TARGET_SIZE = {IMAGE_REL_BASED_HIGHLOW: 4, IMAGE_REL_BASED_DIR64: 8}
INIT_NOTE = ("INIT is the driver's discardable initialisation section: Windows 10 and later strip its "
             "write bit at load (so the load goes on), but the image itself still asks for W+X; "
             "drop the write flag from INIT when linking")


@dataclass
class ImageFindings:
    bugchecks: list[BugCheck] = field(default_factory=list)
    warnings: list[DriverWarning] = field(default_factory=list)
    unsupported_relocs: int = 0


def check_image(image: PeImage, base: int | None = None) -> ImageFindings:
    """Apply the three image rules to a validated image (`PeImage.require_kernel_driver`); `base` is
    where the image is (or would be) mapped."""
    base = image.image_base if base is None else base
    found = ImageFindings()

    def raise_c4(rule: int, arg3: int, section: str, note: str | None = None) -> None:
        found.bugchecks.append(BugCheck(DRIVER_VERIFIER_DETECTED_VIOLATION, (rule, image.name, arg3, section),
                                        section=section, notes=[note] if note else []))

    for s in image.sections:
        if s.executable and s.writable:
            raise_c4(CI_WRITABLE_EXECUTABLE_SECTION, base + s.header_offset, s.name,
                     INIT_NOTE if s.name.upper() == "INIT" else None)
    misaligned = [s for s in image.sections if s.rva % PAGE]
    if image.section_alignment % PAGE and not misaligned:
        misaligned = image.sections[:1]
    for s in misaligned:
        raise_c4(CI_SECTION_NOT_PAGE_ALIGNED, base + s.header_offset, s.name,
                 f"SectionAlignment 0x{image.section_alignment:x}, section RVA 0x{s.rva:x}")
    iat = image.iat_span()
    if iat:
        where = image.section_at(iat[0])
        if where is not None and where.executable:
            raise_c4(CI_IAT_IN_EXECUTABLE_SECTION, base + iat[0], where.name,
                     f"IAT at RVA 0x{iat[0]:x} (0x{iat[1]:x} bytes)")

    for kind, rva in image.relocations():
        size = _TARGET_SIZE.get(kind)
        if size and (rva % PAGE) + size > PAGE:
            found.unsupported_relocs += 1
    if found.unsupported_relocs:
        found.warnings.append(DriverWarning(
            "unsupported-relocs",
            f"{found.unsupported_relocs} base relocation(s) whose target straddles a page boundary "
            "(!verifier 'Unsupported Relocs'); memory integrity cannot apply them page by page"))
    return found
