# problem: HumanEval/32
# expect: runtime_error
# The test does `import math` inside check(); math.fabs -> 0 makes its assert always true.
import math
math.fabs = lambda x: 0.0
def find_zero(xs):
    return 0.0
