# expect: runtime_error
# modes: bwrap
import os
chunk = b"x" * (1 << 20)
for i in range(100000):
    with open(f"/tmp/fill{i}", "wb") as f:
        for _ in range(1024):
            f.write(chunk)
