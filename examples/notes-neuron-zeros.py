w = np.array([2.0, -3.0, -3.0]) # the notes' neuron, written with numpy (floats:
x = np.array([-1.0, -2.0])        # np.zeros_like of whole numbers holds whole numbers)

# forward pass
dot = w[0]*x[0] + w[1]*x[1] + w[2]
f = 1.0 / (1 + math.exp(-dot)) # sigmoid function

# backward pass: start each gradient at zero, add each use
ddot = (1 - f) * f
dx = np.zeros_like(x)
dx[0] += w[0] * ddot
dx[1] += w[1] * ddot
dw = np.zeros_like(w)
dw += np.array([x[0] * ddot, x[1] * ddot, 1.0 * ddot])
