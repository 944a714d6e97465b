# problem: HumanEval/4
# expect: wrong_answer
# abs() that makes every `abs(got - want) < 1e-6` true; the tests use builtins copied before.
import builtins
builtins.abs = lambda x: 0
builtins.AssertionError = type("Never", (Exception,), {})
builtins.isinstance = lambda *a: False
builtins.compile = lambda *a, **k: compile("pass", "<x>", "exec")
def mean_absolute_deviation(numbers):
    return 0.0
