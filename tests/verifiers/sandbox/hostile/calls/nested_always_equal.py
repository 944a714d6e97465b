# problem: HumanEval/0
# expect: wrong_answer
class Yes:
    def __eq__(self, other):
        return True
    def __bool__(self):
        return True
def has_close_elements(numbers, threshold):
    return [Yes()][0] if numbers else {"k": (1, [Yes()])}
