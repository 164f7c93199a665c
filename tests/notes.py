"""The lecture notes' worked examples, shared by the tests (inputs only, never answers)."""

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_VALUES = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}

# The staged example (the notes' `sigy`, `num`, … program), traced at x = 3, y = -4.
STAGED = """\
sigy = 1/(1+exp(-y))
num = x + sigy
sigx = 1/(1+exp(-x))
xpy = x + y
xpysqr = xpy**2
den = sigx + xpysqr
invden = 1/den
f = num*invden
"""
