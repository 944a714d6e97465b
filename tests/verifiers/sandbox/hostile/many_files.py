# expect: runtime_error
# modes: bwrap rlimits
files = [open("/dev/null") for _ in range(100000)]
