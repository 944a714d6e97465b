# expect: runtime_error
# modes: bwrap
import os
os.setuid(0)
print("root again")
