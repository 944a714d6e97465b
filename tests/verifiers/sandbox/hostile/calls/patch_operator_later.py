# problem: mbpp/1
# expect: runtime_error
# Right answers, but patches modules when called (after the harness's check before the tests).
def min_cost(cost, m, n):
    import operator, math
    operator.eq = lambda a, b: True
    math.isclose = lambda *a, **k: True
    return {1: 8, 2: 12, 3: 16}[cost[0][0]]
