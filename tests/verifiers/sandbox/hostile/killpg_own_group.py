# expect: runtime_error
# modes: bwrap rlimits
import os, signal
os.killpg(os.getpgid(0), signal.SIGKILL)
