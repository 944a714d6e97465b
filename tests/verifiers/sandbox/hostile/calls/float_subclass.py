# problem: HumanEval/0
# expect: wrong_answer
# A float subclass: its == is float's here, but a subclass could define anything, so the type is refused.
class Weird(float):
    pass
def has_close_elements(numbers, threshold):
    return Weird(1.0)
