# expect: wrong_answer runtime_error
# modes: bwrap
# A child grabs memory and the parent reports nothing: the child must be limited and reaped too.
import os, sys
if os.fork() == 0:
    try:
        x = bytearray(10 * 1024**3)
    except MemoryError:
        os._exit(3)
    os._exit(0)
_, status = os.wait()
print("child status", status)
