# expect: time_limit
# modes: bwrap rlimits
while True:
    pass
