# problem: mbpp/1
# expect: wrong_answer
class Int(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def min_cost(cost, m, n):
    return Int(0)
