# expect: wrong_answer runtime_error
# modes: bwrap
# kill(-1) signals every process we may signal: only safe to run where we are not root outside.
import os, signal
try:
    os.kill(-1, signal.SIGKILL)
except OSError as exc:
    print(exc)
os.killpg(0, signal.SIGKILL)
