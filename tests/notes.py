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

# The notes' staged neuron in their own Python, character for character (comments,
# blank line and all), as a learner pastes it: the program's own constants are its values.
NOTES_CODE = """\
w = [2,-3,-3] # assume some random weights and data
x = [-1, -2]

# forward pass
dot = w[0]*x[0] + w[1]*x[1] + w[2]
f = 1.0 / (1 + math.exp(-dot)) # sigmoid function
"""
