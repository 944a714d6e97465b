# expect: runtime_error time_limit
# modes: bwrap
import os
while True:
    os.fork()
