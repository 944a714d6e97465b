# problem: mbpp/1
# expect: runtime_error
# A trace function gets every frame and may jump over the failing assert (f_lineno).
import sys
def tracer(frame, event, arg):
    return tracer
sys.settrace(tracer)
def min_cost(cost, m, n):
    return 0
