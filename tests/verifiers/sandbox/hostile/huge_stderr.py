# expect: runtime_error
# modes: bwrap rlimits
import sys
line = "e" * (1 << 20)
for _ in range(1024):
    sys.stderr.write(line)
