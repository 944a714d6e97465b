# expect: runtime_error
# modes: bwrap rlimits
import ctypes
ctypes.string_at(0)
