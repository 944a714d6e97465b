# expect: time_limit
# modes: bwrap rlimits
import time
time.sleep(1000)
