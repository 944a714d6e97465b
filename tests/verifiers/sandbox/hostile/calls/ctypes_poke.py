# problem: mbpp/1
# expect: runtime_error
# ctypes can rewrite any object in memory (e.g. make False is True); the harness refuses it.
import ctypes
ctypes.pythonapi.Py_IncRef
def min_cost(cost, m, n):
    return 0
