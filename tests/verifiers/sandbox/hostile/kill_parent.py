# expect: wrong_answer runtime_error
# modes: bwrap
import os, signal
for sig in (signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(os.getppid(), sig)
    except OSError as exc:
        print(exc)
print("survived")
