"""C types of the framework's parameters, for decoding and for showing a call."""
from hooks.api import CType

PWDF_DRIVER_GLOBALS = CType("PWDF_DRIVER_GLOBALS", 64, "ptr")
WDFOBJECT = CType("WDFOBJECT", 64, "ptr")
WDFDRIVER = CType("WDFDRIVER", 64, "ptr")
WDFDEVICE = CType("WDFDEVICE", 64, "ptr")
WDFQUEUE = CType("WDFQUEUE", 64, "ptr")
WDFMEMORY = CType("WDFMEMORY", 64, "ptr")
WDFKEY = CType("WDFKEY", 64, "ptr")
WDFLOOKASIDE = CType("WDFLOOKASIDE", 64, "ptr")
WDFIOTARGET = CType("WDFIOTARGET", 64, "ptr")
WDFLOCK = CType("WDFLOCK", 64, "ptr")              # WDFSPINLOCK, WDFWAITLOCK
WDFCOLLECTION = CType("WDFCOLLECTION", 64, "ptr")
WDFSTRING = CType("WDFSTRING", 64, "ptr")
PWDFDEVICE_INIT = CType("PWDFDEVICE_INIT", 64, "ptr")
PWDF_OBJECT_ATTRIBUTES = CType("PWDF_OBJECT_ATTRIBUTES", 64, "ptr")
ENUM = CType("ENUM", 32, "enum")
PUSHORT = CType("PUSHORT", 64, "ptr")
WDFREQUEST = CType("WDFREQUEST", 64, "ptr")
WDFFILEOBJECT = CType("WDFFILEOBJECT", 64, "ptr")
