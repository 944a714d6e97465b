# expect: wrong_answer
# modes: bwrap rlimits
import os, sys
marker = sys.stdin.read().split()[2]
for _ in range(5):
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", marker])
print("children started")
