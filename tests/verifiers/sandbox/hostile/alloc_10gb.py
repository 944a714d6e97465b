# expect: memory_limit
# modes: bwrap rlimits
x = bytearray(10 * 1024**3)
print(len(x))
