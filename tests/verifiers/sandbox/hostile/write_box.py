# expect: runtime_error
# modes: bwrap
# The program's own directory is read-only: it cannot rewrite the launcher for the next run.
import os
with open(os.path.join(os.path.dirname(__file__), "_boot.py"), "w") as f:
    f.write("print('owned')")
