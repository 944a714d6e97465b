# expect: runtime_error
# modes: bwrap rlimits
# Prints every environment it can read; the test's fake HF_TOKEN must not be among them.
import os, sys
found = [f"{k}={v}" for k, v in os.environ.items()]
for pid in os.listdir("/proc"):
    try:
        found.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
    except OSError:
        pass
sys.stderr.write("\n".join(found))
raise SystemExit(1)
