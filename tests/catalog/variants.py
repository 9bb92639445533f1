"""Legitimate other ways to write a graded function: each must earn full marks."""

from . import DERIVATIVES, LOGISTIC, NUMPY, Entry

VARIANTS = [
    # ---------------------------------------------------------------- 01 numpy and vectorization
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/numerically-stable", '''
def basic_sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
'''),
    Entry(NUMPY, "basic_sigmoid", "basic_sigmoid/power-of-e", '''
def basic_sigmoid(x):
    return 1 / (1 + math.e ** -x)
'''),

    Entry(NUMPY, "sigmoid", "sigmoid/reciprocal", '''
def sigmoid(x):
    return np.reciprocal(1.0 + np.exp(-x))
'''),
    Entry(NUMPY, "sigmoid", "sigmoid/tanh", '''
def sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))
'''),

    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/s-minus-s-squared", '''
def sigmoid_derivative(x):
    s = sigmoid(x)
    return s - s ** 2
'''),
    Entry(NUMPY, "sigmoid_derivative", "sigmoid_derivative/closed-form", '''
def sigmoid_derivative(x):
    e = np.exp(-x)
    return e / (1 + e) ** 2
'''),

    Entry(NUMPY, "image2vector", "image2vector/minus-one", '''
def image2vector(image):
    return image.reshape(-1, 1)
'''),
    Entry(NUMPY, "image2vector", "image2vector/newaxis", '''
def image2vector(image):
    return np.reshape(image, image.size)[:, np.newaxis]
'''),

    Entry(NUMPY, "normalize_rows", "normalize_rows/square-root-of-sum", '''
def normalize_rows(x):
    return x / np.sqrt(np.sum(x * x, axis=1, keepdims=True))
'''),
    Entry(NUMPY, "normalize_rows", "normalize_rows/in-place-on-a-float-copy", '''
def normalize_rows(x):
    x = x.astype(float)
    x /= np.linalg.norm(x, axis=1)[:, None]
    return x
'''),

    Entry(NUMPY, "softmax", "softmax/numerically-stable", '''
def softmax(x):
    shifted = x - np.max(x, axis=1, keepdims=True)
    x_exp = np.exp(shifted)
    return x_exp / x_exp.sum(axis=1, keepdims=True)
'''),
    Entry(NUMPY, "softmax", "softmax/einsum", '''
def softmax(x):
    x_exp = np.exp(x)
    return x_exp / np.einsum("ij->i", x_exp)[:, np.newaxis]
'''),

    Entry(NUMPY, "L1", "L1/method-calls", '''
def L1(yhat, y):
    return np.abs(yhat - y).sum()
'''),
    Entry(NUMPY, "L1", "L1/python-loop", '''
def L1(yhat, y):
    loss = 0
    for predicted, true in zip(yhat, y):
        loss += abs(true - predicted)
    return loss
'''),

    Entry(NUMPY, "L2", "L2/sum-of-squares", '''
def L2(yhat, y):
    return np.sum(np.square(yhat - y))
'''),
    Entry(NUMPY, "L2", "L2/squared-norm", '''
def L2(yhat, y):
    return float(np.linalg.norm(y - yhat) ** 2)
'''),

    # ---------------------------------------------------------------- 02 derivatives and gradient descent
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/average-of-one-sided", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    forward = (f(a + eps) - f(a)) / eps
    if method == "forward":
        return forward
    if method != "centred":
        raise ValueError("unknown method")
    backward = (f(a) - f(a - eps)) / eps
    return (forward + backward) / 2
'''),
    Entry(DERIVATIVES, "numerical_derivative", "numerical_derivative/table-of-rules", '''
def numerical_derivative(f, a, eps=1e-4, method="centred"):
    rules = {
        "centred": lambda: (f(a + eps) - f(a - eps)) / (2 * eps),
        "forward": lambda: (f(a + eps) - f(a)) / eps,
    }
    if method not in rules:
        raise ValueError(f"unknown method {method}")
    return float(rules[method]())
'''),

    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/array-of-iterates", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    xs = np.zeros(num_iterations + 1)
    xs[0] = x0
    for i in range(num_iterations):
        xs[i + 1] = xs[i] - learning_rate * df(xs[i])
    return xs
'''),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/while-loop", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    xs = [x0]
    while len(xs) <= num_iterations:
        x = xs[-1]
        xs.append(x - learning_rate * df(x))
    return xs
'''),

    # ---------------------------------------------------------------- 03 logistic regression
    Entry(LOGISTIC, "sigmoid", "sigmoid/logaddexp", '''
def sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))
'''),
    Entry(LOGISTIC, "sigmoid", "sigmoid/numerically-stable-where", '''
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return s if s.ndim else float(s)
'''),

    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/reshaped", '''
def initialize_with_zeros(dim):
    return np.zeros(dim).reshape(-1, 1), np.float64(0)
'''),

    Entry(LOGISTIC, "propagate", "propagate/matmul-and-mean", '''
def propagate(w, b, X, Y):
    A = sigmoid(w.T @ X + b)
    cost = -(Y @ np.log(A).T + (1 - Y) @ np.log(1 - A).T) / Y.shape[1]
    dw = X @ (A - Y).T / X.shape[1]
    db = np.mean(A - Y)
    return {"dw": dw, "db": db}, cost.item()
'''),
    Entry(LOGISTIC, "propagate", "propagate/python-loop", '''
def propagate(w, b, X, Y):
    n, m = X.shape
    cost, dw, db = 0.0, np.zeros((n, 1)), 0.0
    for i in range(m):
        x = X[:, i:i + 1]
        a = sigmoid(float(np.dot(w[:, 0], x[:, 0])) + b)
        y = Y[0, i]
        cost -= y * np.log(a) + (1 - y) * np.log(1 - a)
        dw += (a - y) * x
        db += a - y
    return {"dw": dw / m, "db": db / m}, cost / m
'''),

    Entry(LOGISTIC, "optimize", "optimize/in-place-on-a-float-copy", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = np.array(w, dtype=float)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w=w, b=b, X=X, Y=Y)
        w -= learning_rate * grads["dw"]
        b -= learning_rate * grads["db"]
        if i % 100 == 0:
            costs.append(float(cost))
            if print_cost:
                print(f"Cost after iteration {i}: {cost}")
    return {"w": w, "b": b}, grads, costs
'''),
    Entry(LOGISTIC, "optimize", "optimize/costs-every-hundredth", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    params = {"w": copy.deepcopy(w), "b": b}
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(params["w"], params["b"], X, Y)
        if not i % 100:
            costs += [cost]
        params = {"w": params["w"] - learning_rate * grads["dw"], "b": params["b"] - learning_rate * grads["db"]}
    return params, grads, np.array(costs)
'''),

    Entry(LOGISTIC, "predict", "predict/threshold-z-boolean", '''
def predict(w, b, X):
    z = np.dot(w.reshape(-1, 1).T, X) + b
    return z > 0
'''),
    Entry(LOGISTIC, "predict", "predict/where", '''
def predict(w, b, X):
    m = X.shape[1]
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    Y_prediction = np.where(A > 0.5, 1.0, 0.0)
    assert Y_prediction.shape == (1, m)
    return Y_prediction
'''),
    Entry(LOGISTIC, "model", "model/keyword-calls", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(dim=X_train.shape[0])
    params, _, costs = optimize(w, b, X_train, Y_train, num_iterations=num_iterations,
                                learning_rate=learning_rate, print_cost=print_cost)
    return {"w": params["w"], "b": params["b"], "costs": costs,
            "Y_prediction_train": predict(params["w"], params["b"], X_train),
            "Y_prediction_test": predict(params["w"], params["b"], X_test),
            "learning_rate": learning_rate, "num_iterations": num_iterations,
            "train_accuracy": 100 - np.mean(np.abs(predict(params["w"], params["b"], X_train) - Y_train)) * 100}
'''),
    Entry(LOGISTIC, "model", "model/integer-labels", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    w, b = params["w"], float(params["b"])
    d = dict(costs=[float(c) for c in costs], w=w, b=b, learning_rate=learning_rate, num_iterations=num_iterations)
    d["Y_prediction_test"] = predict(w, b, X_test).astype(int)
    d["Y_prediction_train"] = predict(w, b, X_train).astype(np.int64)
    return d
'''),

    # ---------------------------------------------------------------- in place on a copy, float32, other styles
    Entry(LOGISTIC, "optimize", "optimize/in-place-on-a-copy", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = w.copy()
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w -= learning_rate * grads["dw"]
        b -= learning_rate * grads["db"]
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs
'''),
    Entry(LOGISTIC, "optimize", "optimize/float32-arithmetic", '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w, b = w.astype(np.float32), np.float32(b)
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    rate = np.float32(learning_rate)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w = w - rate * grads["dw"]
        b = b - rate * grads["db"]
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs
'''),
    Entry(LOGISTIC, "propagate", "propagate/float32-arithmetic", '''
def propagate(w, b, X, Y):
    w, X, Y = w.astype(np.float32), X.astype(np.float32), Y.astype(np.float32)
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + np.float32(b))
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    return {"dw": dw, "db": db}, np.squeeze(cost)
'''),
    Entry(LOGISTIC, "sigmoid", "sigmoid/float32", '''
def sigmoid(z):
    z = np.asarray(z, dtype=np.float32)
    s = 1 / (1 + np.exp(-z))
    return s if s.ndim else s[()]
'''),
    Entry(LOGISTIC, "initialize_with_zeros", "initialize_with_zeros/float32-zeros", '''
def initialize_with_zeros(dim):
    return np.zeros((dim, 1), dtype=np.float32), 0.0
'''),
    Entry(LOGISTIC, "predict", "predict/greater-or-equal", '''
def predict(w, b, X):
    A = sigmoid(w.reshape(-1, 1).T @ X + b)
    return (A >= 0.5).astype(int)
'''),
    Entry(LOGISTIC, "predict", "predict/rounded-probabilities", '''
def predict(w, b, X):
    A = sigmoid(np.dot(w.T, X) + b)
    return np.round(A)
'''),
    Entry(LOGISTIC, "model", "model/float32-data", '''
def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    X_train, Y_train = X_train.astype(np.float32), Y_train.astype(np.float32)
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(w.astype(np.float32), b, X_train, Y_train, num_iterations=num_iterations,
                                    learning_rate=learning_rate, print_cost=print_cost)
    w, b = params["w"], params["b"]
    return {"costs": costs, "w": w, "b": b, "learning_rate": learning_rate, "num_iterations": num_iterations,
            "Y_prediction_test": predict(w, b, X_test), "Y_prediction_train": predict(w, b, X_train)}
'''),
    Entry(NUMPY, "softmax", "softmax/one-shift-for-the-matrix", '''
def softmax(x):
    x_exp = np.exp(x - np.max(x))
    return x_exp / np.sum(x_exp, axis=1, keepdims=True)
'''),
    Entry(NUMPY, "normalize_rows", "normalize_rows/sqrt-of-row-dot", '''
def normalize_rows(x):
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    return x / norms.reshape(-1, 1)
'''),
    Entry(NUMPY, "image2vector", "image2vector/flatten-then-column", '''
def image2vector(image):
    return image.flatten().reshape(image.size, 1)
'''),
    Entry(NUMPY, "sigmoid", "sigmoid/float32", '''
def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float32)))
'''),
    Entry(DERIVATIVES, "gradient_descent", "gradient_descent/float32-steps", '''
def gradient_descent(df, x0, learning_rate, num_iterations):
    xs = [np.float32(x0)]
    for _ in range(num_iterations):
        xs.append(np.float32(xs[-1] - learning_rate * df(xs[-1])))
    return xs
'''),
]
