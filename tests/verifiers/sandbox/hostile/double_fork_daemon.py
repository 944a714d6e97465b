# expect: wrong_answer
# modes: bwrap rlimits
# A daemon that outlives the program; its command line carries the test's marker.
import os, sys, time
marker = sys.stdin.read().split()[2]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", marker])
    os._exit(0)
time.sleep(0.2)
print("parent done")
