# problem: mbpp/1
# expect: wrong_answer
# On the first call, swaps the wrapped name for an unwrapped cheater in its own globals.
class Eq:
    def __eq__(self, other):
        return True
def _cheat(*a):
    return Eq()
def min_cost(cost, m, n):
    globals()["min_cost"] = _cheat
    return 0
