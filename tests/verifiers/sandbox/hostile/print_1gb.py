# expect: wrong_answer
# modes: bwrap rlimits
import sys
line = "x" * (1 << 20)
for _ in range(1024):
    sys.stdout.write(line)
