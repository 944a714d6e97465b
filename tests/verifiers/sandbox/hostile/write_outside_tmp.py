# expect: runtime_error
# modes: bwrap
# The test created this canary file outside the sandbox; it must stay unchanged.
import sys
canary = sys.stdin.read().split()[1]
with open(canary, "w") as f:
    f.write("pwned")
print("written")
