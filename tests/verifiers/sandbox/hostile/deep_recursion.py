# expect: runtime_error memory_limit time_limit
# modes: bwrap rlimits
import sys
sys.setrecursionlimit(10**8)
def f(n):
    return f(n + 1) + 1
f(0)
